// Package testtool is the one way a test says it needs something from the
// machine (a program on PATH, root, a working sandbox). Outside CI a
// missing need skips the test; in CI (PYPYCTL_CI=1 or CI=true, which
// .ci/run and scripts/fresh-test.sh set) it fails the test, naming what is
// missing and the setup step that provides it, so CI cannot pass while
// testing nothing.
package testtool
