package strip

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pypyctl/pypyctl/internal/testtool"
)

func TestStripKeepsDebugAside(t *testing.T) {
	testtool.Need(t, []string{"cc", "objcopy", "strip"}...)
	in := t.TempDir()
	bin := filepath.Join(in, "tree", "bin", "pypy3.9")
	os.MkdirAll(filepath.Dir(bin), 0o755)
	src := filepath.Join(t.TempDir(), "m.c")
	os.WriteFile(src, []byte("int main(void){return 0;}\n"), 0o644)
	if out, err := exec.Command("cc", "-g", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	os.WriteFile(filepath.Join(in, "tree", "README"), []byte("not ELF"), 0o644)
	os.WriteFile(filepath.Join(in, "vm.json"), []byte("{}"), 0o644)

	var outs [2][]byte
	for i := range outs {
		out := filepath.Join(t.TempDir(), "vm")
		files, err := Strip(context.Background(), in, out)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != 1 || files[0] != "bin/pypy3.9" {
			t.Fatalf("stripped %v, want the one ELF file", files)
		}
		stripped := filepath.Join(out, "tree", "bin", "pypy3.9")
		if link, err := DebugLink(stripped); err != nil || link != "pypy3.9.debug" {
			t.Errorf("debuglink %q, %v", link, err)
		}
		if hasDebug(t, stripped) {
			t.Error("stripped file still has .debug_info")
		}
		if !hasDebug(t, filepath.Join(out, DebugDir, "bin", "pypy3.9.debug")) {
			t.Error("the .debug file lacks .debug_info")
		}
		if err := exec.Command(stripped).Run(); err != nil {
			t.Errorf("stripped binary does not run: %v", err)
		}
		outs[i], _ = os.ReadFile(stripped)
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Error("two strips of the same input differ")
	}
	if !hasDebug(t, bin) {
		t.Error("the input was modified")
	}
}

func hasDebug(t *testing.T, path string) bool {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := f.Section(".debug_info")
	return s != nil && s.Type != elf.SHT_NOBITS
}
