// Package oci builds multi-arch OCI images of PyPy without a Docker daemon.
//
// An image is two layers: a base made apko-style from Debian packages
// (the runtime libraries the tree links against, their Depends, CA
// certificates and time zones), pinned by sha256 in a lock file, and the
// assembled release tree at /opt/pypy. One image per Linux target goes
// into an image index. Every byte is a function of the inputs: layer
// entries are sorted with mtimes at the release's SOURCE_DATE_EPOCH, so
// the same tree and lock give the same index digest on any host.
//
// The package also makes what travels next to an image: a CycloneDX SBOM
// per platform image and an in-toto SLSA provenance statement for the
// index (attached as OCI 1.1 referrers), and, with a key, cosign-compatible
// signatures (the `sha256-<hex>.sig` tag) and signed attestations
// (`sha256-<hex>.att`).
package oci
