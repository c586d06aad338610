// Package apt owns pypyctl's signed apt repositories: it adds .debs to a
// repository (pool/, dists/<suite>/<component>/binary-<arch>/Packages{,.gz,.xz},
// Release, InRelease, Release.gpg), signs the Release with an OpenPGP key
// (github.com/ProtonMail/go-crypto), and generates, loads and exports
// such keys.
//
// Updates are incremental and safe for clients reading the repository
// while it changes: pool files first, then the indices under by-hash/
// (content-addressed, never rewritten) and in place, then Release,
// Release.gpg and InRelease last, each written to a temp file and renamed.
// Clients that fetched the previous InRelease keep finding the indices it
// names under by-hash/ (Acquire-By-Hash), so there is no window in which
// a signed Release lists files that do not match.
package apt
