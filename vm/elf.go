package vm

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// ELFFiles lists a tree's regular ELF files, slash-separated and sorted.
func ELFFiles(tree string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		var magic [4]byte
		_, rerr := f.Read(magic[:])
		f.Close()
		if rerr != nil || !bytes.Equal(magic[:], []byte(elf.ELFMAG)) {
			return nil
		}
		rel, err := filepath.Rel(tree, p)
		if err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list ELF files: %w", err)
	}
	sort.Strings(out)
	return out, nil
}
