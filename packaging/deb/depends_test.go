package deb

import (
	"context"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// fakeResolver stands in for dpkg in the table tests of the mapping
// rules; the real dpkg is exercised by TestDependsHost.
type fakeResolver struct {
	pkgs   map[string]string
	shlibs map[string]string
	err    error
}

func (f fakeResolver) Packages(_ context.Context, sonames []string) (map[string]string, error) {
	out := map[string]string{}
	for _, s := range sonames {
		if p, ok := f.pkgs[s]; ok {
			out[s] = p
		}
	}
	return out, f.err
}

func (f fakeResolver) Shlibs(_ context.Context, pkg, soname string) (string, error) {
	return f.shlibs[soname], nil
}

func TestDependsRules(t *testing.T) {
	res := fakeResolver{
		pkgs: map[string]string{
			"libc.so.6": "libc6:amd64", "libm.so.6": "libc6:amd64", "libssl.so.3": "libssl3:amd64",
			"libcrypto.so.3": "libssl3:amd64", "libz.so.1": "zlib1g:amd64", "libffi.so.8": "libffi8:amd64",
		},
		shlibs: map[string]string{
			"libssl.so.3": "libssl3 (>= 3.0.2)", "libcrypto.so.3": "libssl3 (>= 3.0.9)", "libz.so.1": "zlib1g (>= 1:1.2.0)",
		},
	}
	needs := func(s ...string) map[string][]string {
		m := map[string][]string{}
		for _, x := range s {
			m[x] = []string{"bin/x"}
		}
		return m
	}
	tests := []struct {
		name    string
		link    Linkage
		runtime []string
		want    []string
		wantErr string
	}{
		{"host shlibs, strongest wins, glibc from symbol versions",
			Linkage{Needed: needs("libc.so.6", "libm.so.6", "libssl.so.3", "libcrypto.so.3", "libz.so.1", "libffi.so.8"), GLIBC: "2.34"}, nil,
			[]string{"libc6 (>= 2.34)", "libffi8", "libssl3 (>= 3.0.9)", "zlib1g (>= 1:1.2.0)"}, ""},
		{"loader maps to libc's package even when the host lacks it",
			Linkage{Needed: needs("ld-linux-aarch64.so.1", "libz.so.1"), GLIBC: "2.17"}, nil,
			[]string{"libc6 (>= 2.17)", "zlib1g (>= 1:1.2.0)"}, ""},
		{"imported: constraints from the input packages",
			Linkage{Needed: needs("libc.so.6", "libssl.so.3", "libcrypto.so.3"), GLIBC: "2.34"},
			[]string{"libc6 (>= 2.35)", "libssl3 (>= 3.0.0)", "libexpat1 (>= 2.0.1)"},
			[]string{"libc6 (>= 2.35)", "libssl3 (>= 3.0.0)"}, ""},
		{"imported: a library the input did not declare",
			Linkage{Needed: needs("libc.so.6", "libffi.so.8")}, []string{"libc6 (>= 2.35)"},
			nil, "do not depend on libffi8"},
		{"unresolvable soname",
			Linkage{Needed: needs("libnotthere.so.9")}, nil, nil, "no installed package ships libnotthere.so.9 (needed by bin/x)"},
		{"nothing external", Linkage{Needed: map[string][]string{}}, nil, nil, ""},
	}
	for _, tt := range tests {
		link := tt.link
		got, _, err := Depends(context.Background(), DependsInput{Linkage: &link, RuntimeDepends: tt.runtime, Resolver: res})
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	broken := fakeResolver{err: errors.New("dpkg exploded")}
	link := Linkage{Needed: map[string][]string{"libc.so.6": {"x"}}}
	if _, _, err := Depends(context.Background(), DependsInput{Linkage: &link, Resolver: broken}); err == nil {
		t.Error("a resolver error was swallowed")
	}
}

func TestSplitSonameAndShlibs(t *testing.T) {
	tests := []struct{ soname, name, ver string }{
		{"libssl.so.3", "libssl", "3"},
		{"libbz2.so.1.0", "libbz2", "1.0"},
		{"libpython3.11-1.0.so", "libpython3.11", "1.0"},
		{"libfoo.so", "", ""},
	}
	for _, tt := range tests {
		n, v, _ := splitSoname(tt.soname)
		if n != tt.name || v != tt.ver {
			t.Errorf("splitSoname(%q) = %q, %q", tt.soname, n, v)
		}
	}
	shlibs := []byte("libcrypto 3 libssl3 (>= 3.0.0)\nlibssl 3 libssl3 (>= 3.0.0)\nudeb: libssl 3 libssl3-udeb (>= 3.0.0)\n")
	if got := shlibsDep(shlibs, "libssl.so.3"); got != "libssl3 (>= 3.0.0)" {
		t.Errorf("shlibsDep = %q", got)
	}
	if got := shlibsDep(shlibs, "libssl.so.1.1"); got != "" {
		t.Errorf("shlibsDep of another version = %q", got)
	}
}

// TestDependsHost scans compiled ELF files and asks the host's dpkg.
func TestDependsHost(t *testing.T) {
	needTool(t, "dpkg-query")
	_, r, tg := hostTarget(t)
	tree := makeTree(t, r, tg)
	link, err := ScanTree(tree, tg.DebianArch)
	if err != nil {
		t.Fatal(err)
	}
	if link.ELFFiles != 3 {
		t.Errorf("scanned %d ELF files, want 3", link.ELFFiles)
	}
	if !reflect.DeepEqual(link.Bundled, []string{"libpypy3.9-c.so"}) {
		t.Errorf("bundled = %v", link.Bundled)
	}
	if _, ok := link.Needed["libpypy3.9-c.so"]; ok {
		t.Error("the bundled libpypy is counted as external")
	}
	if !regexp.MustCompile(`^2\.[0-9]+$`).MatchString(link.GLIBC) {
		t.Errorf("GLIBC = %q", link.GLIBC)
	}
	deps, libs, err := Depends(context.Background(), DependsInput{Linkage: link, Resolver: DpkgResolver{Triplet: tg.Triplet}})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, l := range libs {
		names[l.Soname] = l.Package
	}
	for soname, pkg := range map[string]string{"libc.so.6": "libc6", "libz.so.1": "zlib1g", "libsqlite3.so.0": "libsqlite3-0"} {
		if names[soname] != pkg {
			t.Errorf("%s → %q, want %s (all: %v)", soname, names[soname], pkg, names)
		}
	}
	if len(deps) != 3 || !strings.HasPrefix(deps[0], "libc6 (>= 2.") {
		t.Errorf("Depends = %q", deps)
	}
}
