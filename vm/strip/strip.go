// Package strip strips the debug information off every ELF file of a VM
// tree and keeps it aside, as upstream's package step does: each file's
// debug sections go to debug/<path>.debug beside tree/ (so assemble does
// not ship them), and the stripped file gets a .gnu_debuglink naming it,
// which gdb and other debuggers follow.
package strip

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pypyctl/pypyctl/vm"
)

// StageVersion changes whenever stripping's output would change.
const StageVersion = 2

// DebugDir holds the .debug files in the stage's output, beside tree/.
const DebugDir = "debug"

// Strip copies the VM in inDir to outDir and strips its tree there with
// binutils (objcopy, strip): they are what debuggers' debuglink lookup is
// defined by, and no Go library writes ELF.
func Strip(ctx context.Context, inDir, outDir string) ([]string, error) {
	if err := vm.Copy(ctx, inDir, outDir); err != nil {
		return nil, err
	}
	tree := vm.TreeDir(outDir)
	files, err := vm.ELFFiles(tree)
	if err != nil {
		return nil, err
	}
	for _, rel := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f := filepath.Join(tree, filepath.FromSlash(rel))
		dbg := filepath.Join(outDir, DebugDir, filepath.FromSlash(rel)+".debug")
		if err := os.MkdirAll(filepath.Dir(dbg), 0o755); err != nil {
			return nil, fmt.Errorf("strip: %w", err)
		}
		steps := [][]string{
			{"objcopy", "--only-keep-debug", f, dbg},
			// An imported VM may carry a debuglink to its distribution's
			// debug package; it is replaced by ours.
			{"strip", "--strip-debug", "--remove-section=.gnu_debuglink", f},
			// Run in the debug file's directory: objcopy stores the
			// basename, and reads the file to store its CRC.
			{"objcopy", "--add-gnu-debuglink=" + filepath.Base(dbg), f},
		}
		for i, s := range steps {
			cmd := exec.CommandContext(ctx, s[0], s[1:]...)
			if i == 2 {
				cmd.Dir = filepath.Dir(dbg)
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				return nil, fmt.Errorf("strip %s: %s: %w\n%s", rel, strings.Join(s, " "), err, out)
			}
		}
		if err := os.Chmod(dbg, 0o644); err != nil {
			return nil, fmt.Errorf("strip: %w", err)
		}
	}
	return files, nil
}

// DebugLink reads the .gnu_debuglink file name of an ELF file ("" when
// it has none).
func DebugLink(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	s := f.Section(".gnu_debuglink")
	if s == nil {
		return "", nil
	}
	b, err := s.Data()
	if err != nil {
		return "", err
	}
	name, _, _ := bytes.Cut(b, []byte{0})
	return string(name), nil
}
