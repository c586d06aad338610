package wheels

import (
	"bytes"
	"debug/elf"
	"fmt"
	"path"
	"sort"
	"strings"
)

// ELFInfo is what check read from one ELF member.
type ELFInfo struct {
	Path     string            `json:"path"`
	Machine  string            `json:"machine"`
	Needed   []string          `json:"needed"`
	Versions map[string]string `json:"max_versions,omitempty"` // prefix → highest version required
}

// Report is the result of checking one wheel.
type Report struct {
	Wheel string    `json:"wheel"`
	Tags  []string  `json:"tags"`
	ELFs  []ELFInfo `json:"elfs,omitempty"`
	// Manylinux is the most compatible manylinux tag the wheel qualifies
	// for as it is ("" if none: it links libraries outside every policy).
	Manylinux string `json:"manylinux,omitempty"`
	// External are NEEDED libraries outside every policy and not in the wheel.
	External []string `json:"external,omitempty"`
	Problems []string `json:"problems,omitempty"`
}

// OK reports whether the wheel passed every check.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

var machines = map[elf.Machine]string{
	elf.EM_X86_64: "x86_64", elf.EM_AARCH64: "aarch64", elf.EM_386: "i686",
	elf.EM_S390: "s390x", elf.EM_PPC64: "ppc64le", elf.EM_ARM: "armv7l",
}

// Check checks a wheel's tags, RECORD and (for Linux) manylinux policy.
func Check(wheelPath string) (*Report, error) {
	name, err := ParseName(wheelPath)
	if err != nil {
		return nil, err
	}
	files, err := readWheel(wheelPath)
	if err != nil {
		return nil, err
	}
	ps, err := Policies()
	if err != nil {
		return nil, err
	}
	return check(path.Base(wheelPath), name, files, ps)
}

func check(base string, name Name, files []file, ps []Policy) (*Report, error) {
	rep := &Report{Wheel: base, Tags: name.Tags()}
	info, err := distInfo(files)
	if err != nil {
		rep.Problems = append(rep.Problems, err.Error())
	} else {
		rep.Problems = append(rep.Problems, checkRecord(files, info)...)
		rep.Problems = append(rep.Problems, checkWHEELTags(files, info, name)...)
	}
	rep.Problems = append(rep.Problems, checkInterpreterTags(name)...)

	inWheel := map[string]bool{}
	for _, f := range files {
		inWheel[path.Base(f.Name)] = true
	}
	for _, f := range files {
		if !bytes.HasPrefix(f.Data, []byte(elf.ELFMAG)) {
			continue
		}
		ei, err := readELF(f)
		if err != nil {
			rep.Problems = append(rep.Problems, err.Error())
			continue
		}
		rep.ELFs = append(rep.ELFs, ei)
		rep.Problems = append(rep.Problems, checkExtension(f.Name, ei, name)...)
	}

	// Linux policy: only for wheels with ELF members and a Linux platform.
	var archs []string
	for _, pl := range name.Platform {
		if a := platformArch(pl); a != "" {
			archs = append(archs, a)
		}
	}
	if len(rep.ELFs) == 0 || len(archs) == 0 {
		sort.Strings(rep.Problems)
		return rep, nil
	}
	arch := archs[0]
	ext := map[string]bool{}
	var eligible []string
	for _, p := range ps {
		if !p.HasArch(arch) {
			continue
		}
		if why := violations(p, rep.ELFs, inWheel); len(why) == 0 {
			eligible = append(eligible, p.Tag(arch))
		}
	}
	if len(eligible) > 0 {
		rep.Manylinux = eligible[0]
	}
	newest := ps[len(ps)-1]
	for _, e := range rep.ELFs {
		for _, n := range e.Needed {
			if !newest.Allows(n) && !inWheel[n] {
				ext[n] = true
			}
		}
	}
	for n := range ext {
		rep.External = append(rep.External, n)
	}
	sort.Strings(rep.External)
	// A manylinux tag is a promise: check it against its policy.
	for _, pl := range name.Platform {
		if !strings.HasPrefix(pl, "manylinux") {
			continue
		}
		p, _, ok := policyFor(ps, pl)
		if !ok {
			rep.Problems = append(rep.Problems, "platform tag "+pl+": no such manylinux policy for this arch")
			continue
		}
		for _, why := range violations(p, rep.ELFs, inWheel) {
			rep.Problems = append(rep.Problems, pl+": "+why)
		}
	}
	sort.Strings(rep.Problems)
	return rep, nil
}

// violations lists why ELFs break policy p (empty: they satisfy it).
func violations(p Policy, elfs []ELFInfo, inWheel map[string]bool) []string {
	var why []string
	for _, e := range elfs {
		for _, n := range e.Needed {
			if !p.Allows(n) && !inWheel[n] {
				why = append(why, fmt.Sprintf("%s needs %s, which %s does not allow (run `pypyctl wheels repair`)", e.Path, n, p.Name))
			}
		}
		for _, pre := range versionedPrefixes {
			v, ok := e.Versions[pre]
			if !ok {
				continue
			}
			max, limited := p.Max[pre]
			if limited && compareVersions(v, max) > 0 {
				why = append(why, fmt.Sprintf("%s requires %s_%s, above %s's %s_%s", e.Path, pre, v, p.Name, pre, max))
			}
		}
	}
	return why
}

// readELF reads the machine, NEEDED entries and highest required symbol
// version per family of one ELF member.
func readELF(f file) (ELFInfo, error) {
	ef, err := elf.NewFile(bytes.NewReader(f.Data))
	if err != nil {
		return ELFInfo{}, fmt.Errorf("%s: %w", f.Name, err)
	}
	defer ef.Close()
	ei := ELFInfo{Path: f.Name, Machine: machines[ef.Machine], Versions: map[string]string{}}
	if ei.Machine == "" {
		ei.Machine = ef.Machine.String()
	}
	if ei.Needed, err = ef.ImportedLibraries(); err != nil {
		return ELFInfo{}, fmt.Errorf("%s: NEEDED: %w", f.Name, err)
	}
	sort.Strings(ei.Needed)
	syms, err := ef.ImportedSymbols()
	if err != nil && err != elf.ErrNoSymbols {
		return ELFInfo{}, fmt.Errorf("%s: symbols: %w", f.Name, err)
	}
	for _, s := range syms {
		pre, num, ok := splitVersion(s.Version)
		if !ok {
			continue
		}
		if cur, seen := ei.Versions[pre]; !seen || compareVersions(num, cur) > 0 {
			ei.Versions[pre] = num
		}
	}
	return ei, nil
}

// checkInterpreterTags checks that PyPy tags agree with each other:
// ppXY goes with pypyXY_ppNN.
func checkInterpreterTags(n Name) []string {
	var probs []string
	for _, py := range n.Python {
		pm := ppTag.FindStringSubmatch(py)
		if pm == nil {
			continue
		}
		for _, abi := range n.ABI {
			am := pypyABI.FindStringSubmatch(abi)
			if am == nil {
				probs = append(probs, fmt.Sprintf("tag %s-%s: a PyPy wheel's ABI tag is pypy%s%s_ppNN", py, abi, pm[1], pm[2]))
				continue
			}
			if am[1] != pm[1] || am[2] != pm[2] {
				probs = append(probs, fmt.Sprintf("tag %s-%s: the ABI names Python %s.%s, the interpreter tag %s.%s", py, abi, am[1], am[2], pm[1], pm[2]))
			}
		}
	}
	return probs
}

// checkExtension checks one ELF against the tags: an extension module's
// EXT_SUFFIX names the ABI the wheel's tags must name, and every ELF's
// machine must be the platform tag's arch.
func checkExtension(member string, ei ELFInfo, n Name) []string {
	var probs []string
	for _, pl := range n.Platform {
		if a := platformArch(pl); a != "" && a != ei.Machine {
			probs = append(probs, fmt.Sprintf("%s is %s code in a wheel tagged %s", member, ei.Machine, pl))
		}
	}
	m := extSuffix.FindStringSubmatch(member)
	if m == nil {
		return probs
	}
	want := fmt.Sprintf("pypy%s%s_pp%s", m[1], m[2], m[3])
	for _, abi := range n.ABI {
		if abi != want {
			probs = append(probs, fmt.Sprintf("%s is built for ABI %s (EXT_SUFFIX), the wheel is tagged %s", member, want, abi))
		}
	}
	wantPy := "pp" + m[1] + m[2]
	for _, py := range n.Python {
		if py != wantPy {
			probs = append(probs, fmt.Sprintf("%s is built for %s, the wheel is tagged %s", member, wantPy, py))
		}
	}
	if arch := strings.ReplaceAll(m[4], "-", "_"); arch != ei.Machine {
		probs = append(probs, fmt.Sprintf("%s: EXT_SUFFIX names %s, the code is %s", member, arch, ei.Machine))
	}
	return probs
}

// checkWHEELTags checks that the WHEEL file's Tag lines are the name's.
func checkWHEELTags(files []file, info string, n Name) []string {
	for _, f := range files {
		if f.Name != info+"/WHEEL" {
			continue
		}
		var tags []string
		for _, l := range strings.Split(string(f.Data), "\n") {
			if t, ok := strings.CutPrefix(strings.TrimSpace(l), "Tag:"); ok {
				tags = append(tags, strings.TrimSpace(t))
			}
		}
		want := n.Tags()
		sort.Strings(tags)
		sort.Strings(want)
		if strings.Join(tags, " ") != strings.Join(want, " ") {
			return []string{fmt.Sprintf("WHEEL tags %v, file name tags %v", tags, want)}
		}
		return nil
	}
	return []string{"missing " + info + "/WHEEL"}
}
