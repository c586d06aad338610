// Package index owns the published download indexes: pypy.org's
// versions.json schema (reading — from a path or URL, with download_urls
// resolved against it, for install, packaging/bazel and packaging/brew —
// merging, ordering, the latest_pypy rule),
// the mapping between upstream archive suffixes, versions.json (arch,
// platform) pairs and Go's GOOS/GOARCH, and the catalogue in uv's
// download-metadata.json format derived from it.
//
// It is the contract between publish (which writes the files) and install
// (which reads them), so it depends on nothing but the standard library.
package index
