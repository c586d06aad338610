// Package ci turns the platform matrix into CI configuration: the job
// matrix of one release (one job per target, with its runner and whether
// it runs under emulation) and a GitHub Actions workflow built from it.
// pypyctl never schedules machines itself; CI runs one `pypyctl build`
// per target against a shared OCI store, then one `pypyctl release`
// gathers and publishes. The generated workflows are checked in under
// ci/github/ and regenerated with `go test ./ci -update`.
package ci
