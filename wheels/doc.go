// Package wheels builds cffi wheels with an assembled PyPy tree, checks
// them the way auditwheel does (tags against the extension modules, RECORD
// hashes, the manylinux policies of PEPs 513/571/599/600) and repairs them
// by vendoring non-policy libraries and retagging. The policy table is data
// (policy.json), not code.
package wheels
