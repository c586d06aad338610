package platforms

import (
	"fmt"
	"github.com/pypyctl/pypyctl/internal/testtool"
	"os"
	"reflect"
	"strings"
	"testing"
)

// base is a small valid matrix. Line numbers matter: the cases below edit
// it and assert exact positions, so keep it as is.
const base = `schema: 1
default_release: pypy3.11-v7.3.20
defaults:
  target:
    format: tar.bz2
    builder: host
    runner: ubuntu-24.04
targets:
  - name: linux-amd64
    os: linux
    arch: amd64
    platform: linux64
    versions_json: {arch: x64, platform: linux}
    debian_arch: amd64
  - name: windows-amd64
    os: windows
    arch: amd64
    platform: win64
    versions_json: {arch: x64, platform: win64}
    format: zip
releases:
  - name: pypy3.11-v7.3.20
    pypy_version: 7.3.20
    python_version: 3.11.13
    date: "2025-07-04"
    stable: true
    latest: true
    source_date_epoch: 1751587200
    source:
      git: {url: https://github.com/pypy/pypy, tag: release-pypy3.11-v7.3.20, commit: 413c9b7f57f5d40da72669857e97a636150fc533, tree: f6a325e4616ae76bc4167484b3e85c1cc70b13df}
    vm: translate
    targets:
      - name: linux-amd64
        upstream: {file: pypy3.11-v7.3.20-linux64.tar.bz2, sha256: 1410db3a7ae47603e2b7cbfd7ff6390b891b2e041c9eb4f1599f333677bccb3e}
      - {name: windows-amd64}
  - name: pypy3.9-v7.3.11
    pypy_version: 7.3.11
    python_version: 3.9.16
    date: "2022-12-29"
    source_date_epoch: 1672272000
    source:
      git: {url: https://github.com/pypy/pypy}
    vm: debian
    debian:
      suite: bookworm
      packages:
        - {name: pypy3, version: 7.3.11+dfsg-2+deb12u3, arch: amd64, sha256: 21847932176d570d5b012e10fb807cf0f95ff851c525d9397afbda5a72a13650}
    targets:
      - {name: linux-amd64}
`

// release3 is appended to base as lines 50-58.
const release3 = `  - name: pypy3.11-v7.3.19
    pypy_version: 7.3.19
    python_version: 3.11.11
    date: "2025-02-26"
    latest: true
    source_date_epoch: 1740528000
    source: {git: {url: https://github.com/pypy/pypy, commit: 1111111111111111111111111111111111111111, tree: 2222222222222222222222222222222222222222}}
    vm: translate
    targets: [{name: linux-amd64}]
`

type edit struct{ old, new string }

// apply makes each edit, which must match exactly once, so a case cannot
// silently test the unedited base.
func apply(t *testing.T, s string, edits []edit) string {
	t.Helper()
	for _, e := range edits {
		if n := strings.Count(s, e.old); n != 1 {
			t.Fatalf("edit %q matches %d times, want 1", e.old, n)
		}
		s = strings.Replace(s, e.old, e.new, 1)
	}
	return s
}

func TestValidateBaseIsClean(t *testing.T) {
	m, probs := ValidateYAML("base.yaml", []byte(base))
	if len(probs) != 0 {
		t.Fatalf("base has problems: %v", probs)
	}
	if len(m.Targets) != 2 || len(m.Releases) != 2 {
		t.Fatalf("decoded %d targets, %d releases; want 2, 2", len(m.Targets), len(m.Releases))
	}
	// Inheritance: linux-amd64 gets the default format, windows keeps its own.
	if m.Targets[0].Format != "tar.bz2" || m.Targets[1].Format != "zip" || m.Targets[1].Runner != "ubuntu-24.04" {
		t.Errorf("defaults not applied: %+v", m.Targets)
	}
}

// Each case edits base and lists every problem expected, as
// "line:col substring-of-message".
func TestValidateProblems(t *testing.T) {
	tests := []struct {
		name  string
		edits []edit
		tail  string // appended to the edited base
		want  []string
	}{
		{
			name:  "unknown key in a target, and the inherited tar format it then gets",
			edits: []edit{{"    format: zip\n", "    fromat: zip\n"}},
			want: []string{
				`16:9 target windows-amd64: windows targets ship zip, but it inherits format tar.bz2`,
				`20:5 unknown key "fromat" in targets[1] (did you mean "format"?)`,
			},
		},
		{
			name: "unknown top-level key",
			tail: "colour: blue\n",
			want: []string{`50:1 unknown key "colour" in the top level`},
		},
		{
			name:  "unknown key in a flow mapping",
			edits: []edit{{"{arch: x64, platform: linux}", "{arch: x64, platform: linux, libc: glibc}"}},
			want:  []string{`13:49 unknown key "libc" in targets[0].versions_json`},
		},
		{
			name:  "bool given a word",
			edits: []edit{{"    stable: true\n", "    stable: yes\n"}},
			want:  []string{`26:13 releases[0].stable: want true or false, got "yes"`},
		},
		{
			name:  "list given a scalar",
			edits: []edit{{"    targets:\n      - {name: linux-amd64}\n", "    targets: linux-amd64\n"}},
			want:  []string{`48:14 releases[1].targets: want a list, got "linux-amd64"`},
		},
		{
			name:  "integer given a word",
			edits: []edit{{"source_date_epoch: 1751587200", "source_date_epoch: soon"}},
			want:  []string{`28:24 releases[0].source_date_epoch: want an integer, got "soon"`},
		},
		{
			name:  "mapping given a list",
			edits: []edit{{"      git: {url: https://github.com/pypy/pypy}\n", "      git: [https://github.com/pypy/pypy]\n"}},
			want:  []string{`42:12 releases[1].source.git: want a mapping, got a list`},
		},
		{
			name:  "null list item",
			edits: []edit{{"    targets:\n      - {name: linux-amd64}\n", "    targets:\n      - ~\n      - {name: linux-amd64}\n"}},
			want:  []string{`49:9 releases[1].targets[0]: want a mapping, got null`},
		},
		{
			name:  "duplicate key",
			edits: []edit{{"    os: linux\n", "    os: linux\n    os: linux\n"}},
			want:  []string{`11:5 duplicate key "os" in targets[0] (first at line 10)`},
		},
		{
			name:  "duplicate target",
			edits: []edit{{"  - name: windows-amd64\n", "  - name: linux-amd64\n"}},
			want: []string{
				`15:11 duplicate target "linux-amd64" (first at line 9)`,
				`35:16 release pypy3.11-v7.3.20: unknown target "windows-amd64"`,
			},
		},
		{
			name:  "duplicate release",
			edits: []edit{{"  - name: pypy3.9-v7.3.11\n", "  - name: pypy3.11-v7.3.20\n"}},
			want: []string{
				`36:11 duplicate release "pypy3.11-v7.3.20" (first at line 22)`,
				`36:11 release name "pypy3.11-v7.3.20" does not match its versions: want "pypy3.9-v7.3.11"`,
			},
		},
		{
			name:  "release names an unknown target",
			edits: []edit{{"- {name: windows-amd64}", "- {name: windows-arm64}"}},
			want:  []string{`35:16 release pypy3.11-v7.3.20: unknown target "windows-arm64" (targets: linux-amd64, windows-amd64)`},
		},
		{
			name:  "default_release is not a release",
			edits: []edit{{"default_release: pypy3.11-v7.3.20", "default_release: pypy3.12-v7.3.20"}},
			want:  []string{`2:18 default_release "pypy3.12-v7.3.20" is not a release (have: pypy3.11-v7.3.20, pypy3.9-v7.3.11)`},
		},
		{
			name:  "bad pypy_version",
			edits: []edit{{"pypy_version: 7.3.11", "pypy_version: 7.3"}},
			want:  []string{`37:19 release pypy3.9-v7.3.11: pypy_version "7.3" is not a PyPy version`},
		},
		{
			name:  "pypy_version with a leading zero",
			edits: []edit{{"pypy_version: 7.3.11", "pypy_version: 7.03.11"}},
			want:  []string{`37:19 release pypy3.9-v7.3.11: pypy_version "7.03.11" is not a PyPy version`},
		},
		{
			name:  "bad python_version",
			edits: []edit{{"python_version: 3.11.13", "python_version: 3.11"}},
			want:  []string{`24:21 release pypy3.11-v7.3.20: python_version "3.11" is not X.Y.Z`},
		},
		{
			name:  "release candidate is accepted but cannot be stable",
			edits: []edit{{"  - name: pypy3.11-v7.3.20\n    pypy_version: 7.3.20", "  - name: pypy3.11-v7.3.20rc1\n    pypy_version: 7.3.20rc1"}, {"default_release: pypy3.11-v7.3.20", "default_release: pypy3.11-v7.3.20rc1"}},
			want:  []string{`26:13 release pypy3.11-v7.3.20rc1: a pre-release (7.3.20rc1) cannot be stable`},
		},
		{
			name:  "sha256 too short",
			edits: []edit{{"sha256: 1410db3a7ae47603e2b7cbfd7ff6390b891b2e041c9eb4f1599f333677bccb3e", "sha256: 1410db3a"}},
			want:  []string{`34:68 release pypy3.11-v7.3.20: target linux-amd64: upstream: sha256 "1410db3a" is not 64 lowercase hex digits`},
		},
		{
			name:  "sha256 upper case",
			edits: []edit{{"sha256: 21847932176d570d5b012e10fb807cf0f95ff851c525d9397afbda5a72a13650", "sha256: 21847932176D570D5B012E10FB807CF0F95FF851C525D9397AFBDA5A72A13650"}},
			want:  []string{`47:78 release pypy3.9-v7.3.11: debian.packages[0]: sha256 "21847932176D570D5B012E10FB807CF0F95FF851C525D9397AFBDA5A72A13650" is not 64 lowercase hex digits`},
		},
		{
			name:  "translated release without commit and tree pins",
			edits: []edit{{", commit: 413c9b7f57f5d40da72669857e97a636150fc533, tree: f6a325e4616ae76bc4167484b3e85c1cc70b13df}", "}"}},
			want: []string{
				`30:12 release pypy3.11-v7.3.20: a translated release must pin source.git.commit (40 hex digits)`,
				`30:12 release pypy3.11-v7.3.20: a translated release must pin source.git.tree (40 hex digits)`,
			},
		},
		{
			name:  "git pins not 40 hex digits",
			edits: []edit{{"commit: 413c9b7f57f5d40da72669857e97a636150fc533", "commit: 413c9b7"}, {"tree: f6a325e4616ae76bc4167484b3e85c1cc70b13df", "tree: F6A325E4616AE76BC4167484B3E85C1CC70B13DF"}},
			want: []string{
				`30:87 release pypy3.11-v7.3.20: source.git.commit "413c9b7" is not 40 lowercase hex digits`,
				`30:102 release pypy3.11-v7.3.20: source.git.tree "F6A325E4616AE76BC4167484B3E85C1CC70B13DF" is not 40 lowercase hex digits`,
			},
		},
		{
			name:  "translated release from an archive only",
			edits: []edit{{"      git: {url: https://github.com/pypy/pypy, tag: release-pypy3.11-v7.3.20, commit: 413c9b7f57f5d40da72669857e97a636150fc533, tree: f6a325e4616ae76bc4167484b3e85c1cc70b13df}\n", "      archive: {file: pypy3.11-v7.3.20-src.tar.bz2, sha256: 7786dda760003e2ea7409c1037e50200c578ec427ce0245ac4cd758710b206fb}\n"}},
			want:  []string{`30:7 release pypy3.11-v7.3.20: a translated release needs source.git with its commit and tree pinned`},
		},
		{
			name:  "source archive not named after the release",
			edits: []edit{{"tree: f6a325e4616ae76bc4167484b3e85c1cc70b13df}\n", "tree: f6a325e4616ae76bc4167484b3e85c1cc70b13df}\n      archive: {file: pypy3.11-v7.3.19-src.tar.bz2, sha256: 7786dda760003e2ea7409c1037e50200c578ec427ce0245ac4cd758710b206fb}\n"}},
			want:  []string{`31:23 release pypy3.11-v7.3.20: source.archive.file "pypy3.11-v7.3.19-src.tar.bz2" is not named pypy3.11-v7.3.20-src.<format>`},
		},
		{
			name:  "inherited format not known",
			edits: []edit{{"format: tar.bz2", "format: tar.lz"}},
			want:  []string{`5:13 target linux-amd64: format "tar.lz" is not one of tar.bz2, tar.gz, tar.xz, tar.zst, zip`},
		},
		{
			name:  "release formats: unknown, and tar for a windows target",
			edits: []edit{{"    vm: translate\n", "    vm: translate\n    formats: [tar.bz2, rar]\n"}},
			want: []string{
				`32:15 release pypy3.11-v7.3.20: windows target windows-amd64 cannot ship tar.bz2 (give it formats: [zip])`,
				`32:24 release pypy3.11-v7.3.20: format "rar" is not one of`,
			},
		},
		{
			name:  "release-target formats: tar for windows",
			edits: []edit{{"- {name: windows-amd64}", "- {name: windows-amd64, formats: [zip, tar.gz]}"}},
			want:  []string{`35:46 release pypy3.11-v7.3.20: windows target windows-amd64 cannot ship tar.gz (use zip)`},
		},
		{
			name:  "windows target with its own tar format",
			edits: []edit{{"    format: zip\n", "    format: tar.xz\n"}},
			want:  []string{`20:13 target windows-amd64: windows targets ship zip, not tar.xz`},
		},
		{
			name: "two releases claim latest for one Python X.Y",
			tail: release3,
			want: []string{`54:13 releases pypy3.11-v7.3.20 and pypy3.11-v7.3.19 both claim latest for Python 3.11`},
		},
		{
			name:  "required target key missing",
			edits: []edit{{"    platform: linux64\n", ""}},
			want:  []string{`9:5 target linux-amd64: platform is required`},
		},
		{
			name:  "required release key missing",
			edits: []edit{{"    vm: translate\n", ""}},
			want:  []string{`22:5 release pypy3.11-v7.3.20: vm is required`},
		},
		{
			name:  "required nested key missing",
			edits: []edit{{"{arch: x64, platform: win64}", "{arch: x64}"}},
			want:  []string{`19:20 target windows-amd64: versions_json.platform is required`},
		},
		{
			name:  "required key given null",
			edits: []edit{{"    python_version: 3.9.16\n", "    python_version: ~\n"}},
			want:  []string{`38:21 release pypy3.9-v7.3.11: python_version is required`},
		},
		{
			name:  "bad date",
			edits: []edit{{`date: "2025-07-04"`, `date: "2025-7-4"`}},
			want:  []string{`25:11 release pypy3.11-v7.3.20: date "2025-7-4" is not YYYY-MM-DD`},
		},
		{
			name:  "impossible date",
			edits: []edit{{`date: "2022-12-29"`, `date: 2022-02-30`}},
			want:  []string{`39:11 release pypy3.9-v7.3.11: date "2022-02-30" is not YYYY-MM-DD`},
		},
		{
			name:  "unknown vm",
			edits: []edit{{"vm: translate", "vm: docker"}},
			want:  []string{`31:9 release pypy3.11-v7.3.20: vm "docker" is not one of translate, debian, upstream`},
		},
		{
			name:  "debian release lacks packages for a target's arch",
			edits: []edit{{"arch: amd64, sha256", "arch: arm64, sha256"}},
			want:  []string{`49:16 release pypy3.9-v7.3.11: no debian.packages for amd64 (target linux-amd64)`},
		},
		{
			name:  "debian release ships a target without debian_arch",
			edits: []edit{{"    debian_arch: amd64\n", ""}},
			want:  []string{`48:16 release pypy3.9-v7.3.11: target linux-amd64 has no debian_arch`},
		},
		{
			name:  "bad builder, inherited by both targets",
			edits: []edit{{"builder: host", "builder: qemu"}},
			want: []string{
				`6:14 target linux-amd64: builder "qemu" is not host, bwrap, emulated or image:REF`,
				`6:14 target windows-amd64: builder "qemu" is not host, bwrap, emulated or image:REF`,
			},
		},
		{
			name:  "builder image:REF is accepted",
			edits: []edit{{"builder: host", "builder: image:ghcr.io/pypyctl/builder:bookworm"}},
		},
		{
			name:  "builder image without a ref",
			edits: []edit{{"builder: host", "builder: 'image:'"}},
			want: []string{
				`6:14 target linux-amd64: builder "image:" is not`,
				`6:14 target windows-amd64: builder "image:" is not`,
			},
		},
		{
			name:  "unknown os",
			edits: []edit{{"    os: linux\n", "    os: freebsd\n"}},
			want:  []string{`10:9 target linux-amd64: os "freebsd" is not one of linux, darwin, windows`},
		},
		{
			name:  "versions_json platform does not fit the os, and repeats another target's pair",
			edits: []edit{{"{arch: x64, platform: win64}", "{arch: x64, platform: linux}"}},
			want: []string{
				`19:20 target windows-amd64: versions_json (x64, linux) is also target linux-amd64's`,
				`19:42 target windows-amd64: versions_json.platform "linux" does not fit os windows (want win64 or win32)`,
			},
		},
		{
			name:  "two targets with one upstream platform",
			edits: []edit{{"    platform: win64\n", "    platform: linux64\n"}},
			want:  []string{`18:15 target windows-amd64: platform "linux64" is also target linux-amd64's`},
		},
		{
			name:  "schema version",
			edits: []edit{{"schema: 1\n", "schema: 2\n"}},
			want:  []string{`1:9 schema 2 is not supported (want 1)`},
		},
		{
			name:  "ensurepip wheel names a deb the release does not pin",
			edits: []edit{{"    targets:\n      - {name: linux-amd64}\n", "    ensurepip:\n      - {name: pip, version: 23.0.1, sha256: da59ca7250b6284ac0e77a9d287004ea090bb0e30e0c9451c0e34398d45596ba, deb: python3-pip-whl}\n    targets:\n      - {name: linux-amd64}\n"}},
			want:  []string{`49:117 release pypy3.9-v7.3.11: ensurepip[0]: deb "python3-pip-whl" is not one of the release's debian packages`},
		},
		{
			name: "merge keys and anchors are followed",
			edits: []edit{
				{"  - name: linux-amd64\n    os: linux\n    arch: amd64\n", "  - &linux\n    name: linux-amd64\n    os: linux\n    arch: amd64\n"},
				{"  - name: windows-amd64\n    os: windows\n", "  - <<: *linux\n    name: windows-amd64\n    os: windows\n    colour: red\n"},
			},
			want: []string{`19:5 unknown key "colour" in targets[1]`},
		},
		{
			name:  "merge of a scalar",
			edits: []edit{{"  - name: windows-amd64\n", "  - <<: *x\n    name: windows-amd64\n"}, {"arch: amd64\n    platform: linux64", "arch: &x amd64\n    platform: linux64"}},
			want:  []string{`15:9 targets[1]: << must merge a mapping, got "amd64"`},
		},
		{
			name: "root is not a mapping",
			want: []string{`1:1 the matrix must be a mapping`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := apply(t, base, tc.edits) + tc.tail
			if tc.name == "root is not a mapping" {
				src = "- schema: 1\n"
			}
			_, probs := ValidateYAML("m.yaml", []byte(src))
			checkProblems(t, "m.yaml", probs, tc.want)
		})
	}
}

// checkProblems asserts the exact set of problems: each want is
// "line:col substring", matched in order.
func checkProblems(t *testing.T, file string, got []Problem, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(want), problemList(got))
	}
	for i, w := range want {
		pos, msg, _ := strings.Cut(w, " ")
		p := got[i]
		if gotPos := fmt.Sprintf("%d:%d", p.Line, p.Column); gotPos != pos || !strings.Contains(p.Message, msg) || p.File != file {
			t.Errorf("problem %d = %s\nwant %s:%s: …%s…", i, p, file, pos, msg)
		}
	}
}

func problemList(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("  " + p.String() + "\n")
	}
	return b.String()
}

func TestValidateSyntaxAndEmpty(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"empty file", "", "1:1 the matrix is empty"},
		{"comment only", "# nothing\n", "1:1 the matrix is empty"},
		{"tab indentation", "schema: 1\n\tdefault_release: x\n", "2:1 YAML syntax: found a tab character"},
		{"unclosed flow", "schema: 1\ntargets: [\n", "2:1 YAML syntax: did not find expected node content"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, probs := ValidateYAML("s.yaml", []byte(tc.src))
			if m != nil {
				t.Errorf("got a matrix from %q", tc.src)
			}
			checkProblems(t, "s.yaml", probs, []string{tc.want})
		})
	}
}

// Every fault of several classes at once: nothing stops at the first.
func TestValidateReportsAll(t *testing.T) {
	src := apply(t, base, []edit{
		{"    os: linux\n", "    os: plan9\n"},
		{"    stable: true\n", "    stable: maybe\n"},
		{"python_version: 3.11.13", "python_version: 3.11.x"},
		{"- {name: windows-amd64}", "- {name: windows-i386}"},
		{"    vm: debian\n", "    vm: debian\n    colour: blue\n"},
	})
	_, probs := ValidateYAML("all.yaml", []byte(src))
	checkProblems(t, "all.yaml", probs, []string{
		`10:9 os "plan9"`,
		`24:21 python_version "3.11.x"`,
		`26:13 releases[0].stable: want true or false, got "maybe"`,
		`35:16 unknown target "windows-i386"`,
		`44:5 unknown key "colour" in releases[1]`,
	})
}

func TestEmbeddedMatrixIsValid(t *testing.T) {
	m, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	if probs := Validate(m); len(probs) != 0 {
		t.Errorf("Validate(embedded):\n%s", problemList(probs))
	}
	m2, probs := ValidateYAML(EmbeddedName, EmbeddedYAML())
	if len(probs) != 0 {
		t.Errorf("ValidateYAML(embedded):\n%s", problemList(probs))
	}
	// The repairing path must decode exactly what Parse decodes.
	m2.doc, m.doc = nil, nil
	if !reflect.DeepEqual(m, m2) {
		t.Error("ValidateYAML decoded the embedded matrix differently from Parse")
	}
	for _, want := range []string{"pypy3.9-v7.3.11", "pypy3.11-v7.3.20", "pypy2.7-v7.3.20"} {
		if _, err := m.Release(want); err != nil {
			t.Error(err)
		}
	}
}

// Validate on a parsed matrix finds the same problems as ValidateYAML for
// files Parse accepts, with the same positions.
func TestValidateParsedMatchesValidateYAML(t *testing.T) {
	tests := []struct {
		name  string
		edits []edit
	}{
		{"unknown key", []edit{{"    format: zip\n", "    fromat: zip\n"}}},
		{"semantic faults", []edit{{"vm: translate", "vm: docker"}, {"pypy_version: 7.3.11", "pypy_version: 7.3"}}},
		{"clean", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := []byte(apply(t, base, tc.edits))
			m, err := Parse("p.yaml", src)
			if err != nil {
				t.Fatal(err)
			}
			got := Validate(m)
			_, want := ValidateYAML("p.yaml", src)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Validate:\n%sValidateYAML:\n%s", problemList(got), problemList(want))
			}
			if (len(tc.edits) == 0) != (len(got) == 0) {
				t.Errorf("edits %v gave %d problems", tc.edits, len(got))
			}
		})
	}
}

func TestParseTypeErrorHasPosition(t *testing.T) {
	src := apply(t, base, []edit{{"source_date_epoch: 1672272000", "source_date_epoch: [1]"}})
	_, err := Parse("t.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "t.yaml") || !strings.Contains(err.Error(), "line 40") {
		t.Fatalf("Parse error = %v, want one naming t.yaml and line 40", err)
	}
}

// A matrix built in code has no positions, but its faults are found.
func TestValidateWithoutPositions(t *testing.T) {
	m := &Matrix{Path: "code", Schema: 1, DefaultRelease: "r",
		Targets: []Target{{Name: "t", OS: "linux", Arch: "amd64", Platform: "linux64", Format: "tar.rar", Builder: "host", Runner: "x",
			VersionsJSON: IndexPlatform{Arch: "x64", Platform: "linux"}}},
	}
	probs := Validate(m)
	checkProblems(t, "code", probs, []string{
		`0:0 format "tar.rar"`,
		`0:0 releases: the matrix has no releases`,
		`0:0 default_release "r" is not a release`,
	})
}

func TestLoadFileAndMissingFile(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/m.yaml"
	if err := os.WriteFile(path, []byte(base), 0o644); err != nil {
		t.Fatal(err)
	}
	m, probs, err := ValidateFile(path)
	if err != nil || len(probs) != 0 || m.Path != path {
		t.Fatalf("ValidateFile = %v, %v, %v", m, probs, err)
	}
	if _, _, err := ValidateFile(dir + "/none.yaml"); err == nil {
		t.Fatal("ValidateFile of a missing file: no error")
	}
	if _, err := Load(dir + "/none.yaml"); err == nil {
		t.Fatal("Load of a missing file: no error")
	}
}

// docs/matrix.md must describe every key the schema accepts.
func TestSchemaKeysDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/matrix.md")
	if err != nil {
		t.Fatal(err)
	}
	keys := SchemaKeys()
	if len(keys) < 40 {
		t.Fatalf("SchemaKeys found only %d keys: %v", len(keys), keys)
	}
	for _, k := range keys {
		// defaults.target takes the targets[] keys, documented once.
		if rest, ok := strings.CutPrefix(k, "defaults.target."); ok {
			k = "targets[]." + rest
		}
		if !strings.Contains(string(doc), "`"+k+"`") {
			t.Errorf("docs/matrix.md does not mention `%s`", k)
		}
	}
}

func FuzzValidateYAML(f *testing.F) {
	f.Add([]byte(base))
	f.Add(EmbeddedYAML())
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("targets: [{<<: [*x]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Must not panic, and every problem needs a message.
		_, probs := ValidateYAML("f.yaml", data)
		for _, p := range probs {
			if p.Message == "" {
				t.Fatalf("empty message at %d:%d", p.Line, p.Column)
			}
		}
	})
}

func TestSecondDocumentIsAnError(t *testing.T) {
	data := append(append([]byte(nil), EmbeddedYAML()...), []byte("\n---\nreleases: []\n")...)
	if _, err := Parse("m.yaml", data); err == nil || !strings.Contains(err.Error(), "second YAML document") {
		t.Fatalf("Parse: %v", err)
	}
	_, probs := ValidateYAML("m.yaml", data)
	if len(probs) != 1 || probs[0].Line == 0 || !strings.Contains(probs[0].Message, "second YAML document") {
		t.Fatalf("problems = %v", probs)
	}
}

func TestSharedAnchorProblemsHavePositions(t *testing.T) {
	base := string(EmbeddedYAML())
	tests := []struct{ name, yaml string }{
		{"anchor used as int and mapping", strings.Replace(strings.Replace(base, "      make_jobs: 0", "      make_jobs: &m 0", 1), "    debian_arch: amd64\n", "    debian_arch: amd64\n    translation: *m\n", 1)},
		{"anchor used as string and list", strings.Replace(strings.Replace(base, "    runner: ubuntu-24.04\n", "    runner: &r ubuntu-24.04\n", 1), "      rpython_options: []", "      rpython_options: *r", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, probs := ValidateYAML("m.yaml", []byte(tt.yaml))
			if len(probs) == 0 {
				t.Fatal("no problems")
			}
			for _, p := range probs {
				if p.Line == 0 || strings.Contains(p.Message, "cannot decode") {
					t.Errorf("problem %s", p)
				}
			}
		})
	}
}

func TestEndlessMatrixFile(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		testtool.Missing(t, "no /dev/zero")
	}
	if _, err := Load("/dev/zero"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("Load(/dev/zero) = %v", err)
	}
}
