// Package brew owns pypyctl's Homebrew output: a tap directory with one
// formula per release (Formula/pypy@X.Y.rb) that installs the release's
// upstream-layout archives as they are, with the url and sha256 of each
// macOS and Linux archive the release ships. The formula is rendered with
// text/template from the matrix and a checksum source (a dist directory's
// SHA256SUMS, or a published versions.json with sha256 entries), so the
// same inputs give the same bytes.
package brew
