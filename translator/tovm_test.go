package translator

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/vm"
)

// TestToVMFromTheDouble translates with the rpython double, then converts
// the stored outputs plus the source's lib-python, lib_pypy and include
// into the VM layout build reads.
func TestToVMFromTheDouble(t *testing.T) {
	rg := newRig(t)
	writeFile(t, filepath.Join(rg.src, "lib-python", "3", "os.py"), "# stdlib os\n", 0o644)
	writeFile(t, filepath.Join(rg.src, "lib-python", "3", "json", "__init__.py"), "# json\n", 0o644)
	writeFile(t, filepath.Join(rg.src, "lib-python", "3", "__pycache__", "os.cpython-311.pyc"), "junk", 0o644)
	writeFile(t, filepath.Join(rg.src, "lib_pypy", "_sqlite3_build.py"), "# cffi build script\n", 0o644)
	writeFile(t, filepath.Join(rg.src, "lib_pypy", "os.py"), "# lib_pypy wins\n", 0o644)
	writeFile(t, filepath.Join(rg.src, "include", "Python.h"), "/* header */\n", 0o644)
	writeFile(t, filepath.Join(rg.src, "LICENSE"), "MIT\n", 0o644)
	p := rg.plan(nil)
	rep, err := Translate(context.Background(), p, rg.options(nil))
	if err != nil {
		t.Fatal(err)
	}
	r, tg := matrixFor(t, testRelease, rg.target)
	out := filepath.Join(t.TempDir(), "vm")
	if err := ToVM(context.Background(), rep, rg.src, r, tg, out); err != nil {
		t.Fatal(err)
	}
	meta, err := vm.ReadMetadata(out)
	if err != nil {
		t.Fatal(err)
	}
	short := r.PythonShort()
	if meta.Origin != "translate" || meta.Interpreter != "bin/pypy"+short || meta.Library != "bin/libpypy"+short+"-c.so" {
		t.Errorf("metadata %+v", meta)
	}
	wantABI := "pypy" + r.PythonNoDot() + "-pp73"
	if meta.SOABI != wantABI || meta.ExtSuffix != "."+wantABI+"-"+tg.Triplet+".so" {
		t.Errorf("tags %s %s, want %s", meta.SOABI, meta.ExtSuffix, wantABI)
	}
	if len(meta.Inputs) != 1 || meta.Inputs[0].SHA256 != p.Source.Digest || p.Source.Digest == "" {
		t.Errorf("inputs %+v, source digest %q", meta.Inputs, p.Source.Digest)
	}
	tree := vm.TreeDir(out)
	for rel, want := range map[string]string{
		"lib/pypy" + short + "/os.py":             "# lib_pypy wins\n",
		"lib/pypy" + short + "/json/__init__.py":  "# json\n",
		"lib/pypy" + short + "/_sqlite3_build.py": "# cffi build script\n",
		"include/pypy" + short + "/Python.h":      "/* header */\n",
		"bin/pypy" + short:                        readFile(t, rep.Outputs[0].Path),
		"bin/libpypy" + short + "-c.so":           readFile(t, rep.Outputs[1].Path),
		"../LICENSE":                              "MIT\n",
	} {
		if got := readFile(t, filepath.Join(tree, rel)); got != want {
			t.Errorf("%s = %q, want %q", rel, got, want)
		}
	}
	if st, err := os.Stat(filepath.Join(tree, "bin", "pypy"+short)); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("launcher mode: %v %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(tree, "lib", "pypy"+short, "__pycache__")); !os.IsNotExist(err) {
		t.Errorf("bytecode cache copied: %v", err)
	}

	// A source without LICENSE is refused, not shipped without one.
	os.Remove(filepath.Join(rg.src, "LICENSE"))
	err = ToVM(context.Background(), rep, rg.src, r, tg, filepath.Join(t.TempDir(), "vm"))
	if err == nil || !strings.Contains(err.Error(), "LICENSE") {
		t.Errorf("no LICENSE: err = %v", err)
	}
}
