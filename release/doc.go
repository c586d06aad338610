// Package release runs a whole release (or a nightly) through the
// pipeline: it plans the (release, target) jobs the matrix asks for, runs
// build for each with bounded parallelism, records each target's outputs as
// one store entry (record.go), gathers the records into a dist directory,
// signs it and publishes it. It is a thin orchestrator: the work itself is
// done by build, trust and publish.
//
// The same records make the split mode work: builder processes on other
// machines run the per-target half against a shared store, and a merge
// process gathers their records (FromStore) without rebuilding anything.
//
// The commands that make one output on their own call it too: BuildTarget
// is `pypyctl build` (one target, recorded as a release builder records
// it), and Deb, OCI and Wheel package trees taken from the store (Trees)
// as a release's own apt repository and wheels do.
package release
