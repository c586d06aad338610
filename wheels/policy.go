package wheels

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

//go:embed policy.json
var policyJSON []byte

// Policy is one manylinux profile: the symbol versions and the system
// libraries a wheel tagged with it may use.
type Policy struct {
	Name    string            `json:"name"` // manylinux_X_Y
	Aliases []string          `json:"aliases,omitempty"`
	Archs   []string          `json:"archs"`
	Max     map[string]string `json:"max"` // prefix (GLIBC, GLIBCXX, CXXABI, GCC) → highest version
	Libs    []string          `json:"libs"`
}

// Policies returns the embedded manylinux policies, oldest glibc first.
func Policies() ([]Policy, error) {
	var doc struct {
		Policies []Policy `json:"policies"`
	}
	if err := json.Unmarshal(policyJSON, &doc); err != nil {
		return nil, fmt.Errorf("embedded policy.json: %w", err)
	}
	return doc.Policies, nil
}

// Allows reports whether the policy lets a wheel for arch link lib.
func (p Policy) Allows(lib string) bool { return slices.Contains(p.Libs, lib) }

// HasArch reports whether the policy is defined for arch.
func (p Policy) HasArch(arch string) bool { return slices.Contains(p.Archs, arch) }

// Tag is the platform tag of the policy for arch (manylinux_2_17_x86_64).
func (p Policy) Tag(arch string) string { return p.Name + "_" + arch }

// policyFor finds the policy a platform tag names: manylinux_X_Y_arch or
// a legacy alias (manylinux2014_x86_64).
func policyFor(ps []Policy, plat string) (Policy, string, bool) {
	for _, p := range ps {
		for _, n := range append([]string{p.Name}, p.Aliases...) {
			if arch, ok := strings.CutPrefix(plat, n+"_"); ok && p.HasArch(arch) {
				return p, arch, true
			}
		}
	}
	return Policy{}, "", false
}

// versionedPrefixes are the symbol-version families the policies limit.
var versionedPrefixes = []string{"GLIBCXX", "GLIBC", "CXXABI", "GCC"}

// splitVersion splits "GLIBC_2.17" into ("GLIBC", "2.17"); ok is false for
// versions the policies do not limit (GLIBC_PRIVATE, a library's own).
func splitVersion(v string) (prefix, num string, ok bool) {
	for _, p := range versionedPrefixes {
		if n, found := strings.CutPrefix(v, p+"_"); found {
			if _, err := parseVersion(n); err != nil {
				return "", "", false
			}
			return p, n, true
		}
	}
	return "", "", false
}

func parseVersion(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ".") {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("version %q: %w", s, err)
		}
		out = append(out, n)
	}
	return out, nil
}

// compareVersions compares dotted versions numerically (2.9 < 2.17).
func compareVersions(a, b string) int {
	x, _ := parseVersion(a)
	y, _ := parseVersion(b)
	for i := 0; i < len(x) || i < len(y); i++ {
		var p, q int
		if i < len(x) {
			p = x[i]
		}
		if i < len(y) {
			q = y[i]
		}
		if p != q {
			if p < q {
				return -1
			}
			return 1
		}
	}
	return 0
}
