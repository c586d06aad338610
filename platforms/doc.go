// Package platforms owns the declarative platform matrix (matrix.yaml):
// its schema, the embedded default, loading with target defaults, and
// validation with file:line:col positions. Every other stage reads releases
// and targets from here and nowhere else.
package platforms
