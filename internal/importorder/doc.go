// Package importorder holds one test: the import edges `go list` reports
// follow the layers docs/architecture.md ("Import order") names, so no
// package imports one above it in the pipeline. It has no code of its own.
package importorder
