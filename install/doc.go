// Package install is pypyctl's version manager. It reads only published
// outputs — upstream's catalogue compiled in (install/catalogue),
// versions.json indexes (URL, file:// URL or path), the archives and
// SHA256SUMS/.sig files beside them — never the build stages.
//
// One concern per file: request.go parses what the user asks for,
// sources.go orders the sources (indexes, then upstream) and explains
// their failures, indexsrc.go loads an index and resolves a request in it,
// validate.go checks every index entry (the index is untrusted),
// signed.go checks signed indexes (rollback) and signed SHA256SUMS,
// fetch.go downloads with resume and retries, netguard.go bounds waits
// and sizes and says which failures are permanent,
// install.go verifies and extracts under locks, installed.go lists and
// removes installed versions, pin.go reads and writes .python-version,
// shims.go writes the PATH shims, config.go reads config.yaml, cache.go
// prunes downloads, keys.go manages trusted keys.
//
// Layout under the data dir: versions/<name>/ (name = the archive's top
// directory, e.g. pypy3.9-v7.3.11-linux64), receipts/<name>.json (what was
// installed from where), trusted-keys/, shims/, install.lock,
// index-state.json. Downloads are cached under <cache>/downloads/, each
// with its own <file>.lock.
package install
