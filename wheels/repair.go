package wheels

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// RepairOptions configures Repair.
type RepairOptions struct {
	OutDir  string
	Epoch   int64    // SOURCE_DATE_EPOCH for the zip's times
	LibDirs []string // where to look for libraries first (before the system's)
}

// RepairResult is the repaired wheel.
type RepairResult struct {
	Wheel    string            `json:"wheel"`
	Platform string            `json:"platform"`
	Vendored map[string]string `json:"vendored,omitempty"` // NEEDED name → member in <pkg>.libs/
	Report   *Report           `json:"report"`
}

// Repair copies the libraries a wheel needs outside the manylinux policies
// into <dist>.libs/ under hashed sonames, points NEEDED and RUNPATH at
// them, retags the wheel to the most compatible manylinux tag it then
// satisfies and writes it reproducibly into OutDir.
//
// ELF edits go through patchelf: growing .dynstr and the dynamic section
// safely is what patchelf exists for, and hand-written edits that cannot
// grow them would fail on real libraries.
func Repair(ctx context.Context, wheelPath string, o RepairOptions) (*RepairResult, error) {
	patchelf, err := exec.LookPath("patchelf")
	if err != nil {
		return nil, errors.New("wheels repair needs patchelf (Debian package patchelf)")
	}
	name, err := ParseName(wheelPath)
	if err != nil {
		return nil, err
	}
	files, err := readWheel(wheelPath)
	if err != nil {
		return nil, err
	}
	info, err := distInfo(files)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", wheelPath, err)
	}
	ps, err := Policies()
	if err != nil {
		return nil, err
	}
	newest := ps[len(ps)-1]
	libsDir := name.Distribution + ".libs"
	tmp, err := os.MkdirTemp("", "pypyctl-repair-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	r := &repairer{ctx: ctx, patchelf: patchelf, tmp: tmp, libsDir: libsDir, policy: newest,
		vendored: map[string]string{}, searchDirs: o.LibDirs, byName: map[string]int{}}
	r.files = files
	for i, f := range files {
		r.byName[f.Name] = i
	}
	// Walk every ELF of the wheel; vendored libraries join the queue so
	// their own dependencies are vendored too.
	var queue []string
	for _, f := range files {
		if bytes.HasPrefix(f.Data, []byte(elf.ELFMAG)) {
			queue = append(queue, f.Name)
		}
	}
	for len(queue) > 0 {
		member := queue[0]
		queue = queue[1:]
		added, err := r.fix(member)
		if err != nil {
			return nil, fmt.Errorf("repair %s: %w", filepath.Base(wheelPath), err)
		}
		queue = append(queue, added...)
	}
	files = r.files

	// Retag to the most compatible policy the repaired code satisfies.
	rep, err := check(name.String(), name, files, ps)
	if err != nil {
		return nil, err
	}
	if len(rep.ELFs) == 0 {
		return nil, fmt.Errorf("repair %s: the wheel holds no ELF files; it needs no manylinux tag", filepath.Base(wheelPath))
	}
	if rep.Manylinux == "" {
		return nil, fmt.Errorf("repair %s: still no manylinux policy fits: %s", filepath.Base(wheelPath), strings.Join(rep.External, ", "))
	}
	out := name.retag(rep.Manylinux)
	for i, f := range files {
		if f.Name == info+"/WHEEL" {
			files[i].Data = retagWHEEL(f.Data, out.Tags())
		}
	}
	files = writeRecord(files, info)
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, err
	}
	dst := filepath.Join(o.OutDir, out.String())
	if err := writeWheel(dst, files, o.Epoch); err != nil {
		return nil, err
	}
	final, err := Check(dst)
	if err != nil {
		return nil, err
	}
	return &RepairResult{Wheel: dst, Platform: rep.Manylinux, Vendored: r.vendored, Report: final}, nil
}

type repairer struct {
	ctx        context.Context
	patchelf   string
	tmp        string
	libsDir    string
	policy     Policy
	files      []file
	byName     map[string]int
	vendored   map[string]string // NEEDED name → member
	searchDirs []string
	n          int
}

// fix vendors member's non-policy NEEDED libraries, rewrites its NEEDED
// entries and RUNPATH, and returns the members it added.
func (r *repairer) fix(member string) ([]string, error) {
	f := r.files[r.byName[member]]
	ei, err := readELF(f)
	if err != nil {
		return nil, err
	}
	var rpath []string
	ef, err := elf.NewFile(bytes.NewReader(f.Data))
	if err == nil {
		for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
			if v, _ := ef.DynString(tag); len(v) > 0 {
				rpath = append(rpath, strings.Split(v[0], ":")...)
			}
		}
		ef.Close()
	}
	var added []string
	var args []string
	for _, n := range ei.Needed {
		if r.policy.Allows(n) {
			continue
		}
		if _, ok := r.vendored[n]; !ok {
			if strings.HasPrefix(path.Dir(member), r.libsDir) && path.Base(member) == n {
				continue
			}
			src, err := r.find(n, rpath, ei.Machine)
			if err != nil {
				return nil, err
			}
			b, err := os.ReadFile(src)
			if err != nil {
				return nil, err
			}
			sum := sha256.Sum256(b)
			stem, ver, _ := strings.Cut(n, ".so")
			hashed := fmt.Sprintf("%s-%s.so%s", stem, hex.EncodeToString(sum[:])[:8], ver)
			dst := path.Join(r.libsDir, hashed)
			b, err = r.patch(b, "--set-soname", hashed, "--set-rpath", "$ORIGIN")
			if err != nil {
				return nil, fmt.Errorf("%s: %w", src, err)
			}
			r.vendored[n] = dst
			r.byName[dst] = len(r.files)
			r.files = append(r.files, file{Name: dst, Mode: 0o755, Data: b})
			added = append(added, dst)
		}
		args = append(args, "--replace-needed", n, path.Base(r.vendored[n]))
	}
	if len(args) == 0 {
		return added, nil
	}
	rel, err := filepath.Rel(path.Dir(member), r.libsDir)
	if err != nil {
		return nil, err
	}
	args = append(args, "--set-rpath", "$ORIGIN/"+filepath.ToSlash(rel))
	if path.Dir(member) == r.libsDir {
		args[len(args)-1] = "$ORIGIN"
	}
	b, err := r.patch(f.Data, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", member, err)
	}
	r.files[r.byName[member]].Data = b
	return added, nil
}

// patch runs patchelf on a copy of b, one option per run: patchelf 0.14
// (Debian bookworm) corrupts the dynamic section when --replace-needed and
// --set-rpath are combined in one call.
func (r *repairer) patch(b []byte, args ...string) ([]byte, error) {
	var err error
	for len(args) > 0 {
		n := 2
		if args[0] == "--replace-needed" {
			n = 3
		}
		if b, err = r.patch1(b, args[:n]...); err != nil {
			return nil, err
		}
		args = args[n:]
	}
	return b, nil
}

func (r *repairer) patch1(b []byte, args ...string) ([]byte, error) {
	r.n++
	p := filepath.Join(r.tmp, fmt.Sprintf("elf%d", r.n))
	if err := os.WriteFile(p, b, 0o755); err != nil {
		return nil, err
	}
	argv := append(slices.Clone(args), p)
	cmd := exec.CommandContext(r.ctx, r.patchelf, argv...)
	if out, err := cmd.CombinedOutput(); err != nil {
		// %v: a wrapped *exec.ExitError would make the CLI exit silently.
		return nil, fmt.Errorf("patchelf %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return os.ReadFile(p)
}

// triplets are the Debian multiarch dirs per ELF machine.
var triplets = map[string]string{
	"x86_64": "x86_64-linux-gnu", "aarch64": "aarch64-linux-gnu", "i686": "i386-linux-gnu",
	"s390x": "s390x-linux-gnu", "ppc64le": "powerpc64le-linux-gnu", "armv7l": "arm-linux-gnueabihf",
}

// find locates a library the way the dynamic loader would on this host:
// explicit dirs, the ELF's RUNPATH, then the multiarch and plain lib dirs.
// A candidate must be an ELF of the same machine.
func (r *repairer) find(lib string, rpath []string, machine string) (string, error) {
	dirs := slices.Clone(r.searchDirs)
	for _, d := range rpath {
		if !strings.Contains(d, "$ORIGIN") && d != "" {
			dirs = append(dirs, d)
		}
	}
	if t := triplets[machine]; t != "" {
		dirs = append(dirs, "/lib/"+t, "/usr/lib/"+t)
	}
	dirs = append(dirs, "/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib")
	for _, d := range dirs {
		p := filepath.Join(d, lib)
		ef, err := elf.Open(p)
		if err != nil {
			continue
		}
		m := machines[ef.Machine]
		ef.Close()
		if m == machine {
			return filepath.EvalSymlinks(p)
		}
	}
	sort.Strings(dirs)
	return "", fmt.Errorf("%s (%s) not found in %s", lib, machine, strings.Join(dirs, ", "))
}

// retagWHEEL replaces the Tag lines of a WHEEL file.
func retagWHEEL(b []byte, tags []string) []byte {
	var out []string
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if !strings.HasPrefix(l, "Tag:") {
			out = append(out, l)
		}
	}
	for _, t := range tags {
		out = append(out, "Tag: "+t)
	}
	return []byte(strings.Join(out, "\n") + "\n")
}
