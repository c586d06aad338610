// Package bazel turns one release of a published versions.json into Bazel
// WORKSPACE rules: a Starlark file declaring one http_archive per target
// (url, sha256 and strip_prefix taken from the index) whose BUILD exposes
// the interpreter as a py_runtime, a py_runtime_pair and a Python
// toolchain, plus a register_pypy_toolchains() macro.
//
// It reads only published outputs (the index), like install, and writes
// text: the generated files are a pure function of the index entry.
package bazel
