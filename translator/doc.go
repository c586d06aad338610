// Package translator turns a PyPy source tree into a translated VM by
// running RPython for one target, the way PyPy's release builders do.
//
// It owns four steps:
//
//   - source: the release's PyPy source (a git tag, a pinned -src archive
//     or a local checkout) fetched into the content-addressed store; its
//     digest feeds every later key.
//   - plan: the host interpreter (Python 2.7 with cffi, PyPy2.7 preferred),
//     the rpython command line, a hermetic environment and the expected
//     outputs, all derived from the platform matrix. The plan's digest is
//     the store key of the translated VM.
//   - preflight: every reason the translation would fail early (no 2.7
//     host, too little RAM or disk, missing C libraries), reported together.
//   - run: the command in its own process group (cancelled as one), its log
//     kept, its phases followed, its outputs stored.
//
// A translated VM entry in the store holds:
//
//	vm/pypyX.Y-c            the executable (pypy-c for 2.7; .exe on Windows)
//	vm/libpypyX.Y-c.so      the VM library when shared (.dylib, .dll)
//	vm/pypyX.Y-cw.exe       Windows only, with vm/libs/pythonXY.lib
//	translate.log           RPython's full output
//	plan.json               the plan that made it
//	phases.json             per-phase wall-clock timings of that run
package translator
