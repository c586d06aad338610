package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/packaging/archive"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/store"
	"github.com/pypyctl/pypyctl/translator"
	"github.com/pypyctl/pypyctl/vm/cffi"
	"github.com/pypyctl/pypyctl/vm/debian"
	"github.com/pypyctl/pypyctl/vm/portable"
	"github.com/pypyctl/pypyctl/vm/strip"
)

// TestStageKeys pins every stage's store key for fixed inputs. Existing
// stores (local and shared registries) hold entries under these keys: a
// key that moves without a version bump makes every build miss. A change
// that means to change a stage's output bumps its StageVersion, and this
// table with it.
func TestStageKeys(t *testing.T) {
	h := func(c string) string { return strings.Repeat(c, 64) }
	r := &platforms.Release{Name: "pypy3.9-v7.3.11", PyPyVersion: "7.3.11", PythonVersion: "3.9.16", SourceDateEpoch: 1672272000,
		Ensurepip: []platforms.Wheel{{Name: "pip", Version: "23.0.1", SHA256: h("a"), Deb: "python3-pip-whl"}}}
	tg := &platforms.Target{Name: "linux-amd64", OS: "linux", Arch: "amd64", Platform: "linux64", Triplet: "x86_64-linux-gnu", DebianArch: "amd64"}
	vmPkgs := []debian.Package{
		{Pin: platforms.DebPackage{Name: "pypy3-lib", Version: "7.3.11+dfsg-2", Arch: "amd64", SHA256: h("b")}},
		{Pin: platforms.DebPackage{Name: "pypy3", Version: "7.3.11+dfsg-2", Arch: "amd64", SHA256: h("c")}},
	}
	wheelPkgs := []debian.Package{{Pin: platforms.DebPackage{Name: "python3-pip-whl", Version: "23.0.1+dfsg-1", Arch: "all", SHA256: h("d")}}}
	vmOut := Output{Key: "2c466c771d45b10c18cc80539c1d6950d8fdf7023d382af25fd0b2e93ed6c6a0"}
	wheelKey := store.Key("fa65587f4a10473c51a47a2979ee84d1a307158844f409fdafd807b2f9b25688")
	treeKey := store.Key("3adc4e168ce41cf90b13db7ea6e2690631ceec65470da9ae58a20859fca98e31")
	image := &builderImage{Root: "/image", Key: store.Key(h("3"))}
	plan := &portable.Plan{
		Libs: []portable.Lib{{Soname: "libffi.so.8", Source: "/usr/lib/x86_64-linux-gnu/libffi.so.8", SHA256: h("4"), Package: "libffi8",
			NeededBy: []string{"lib/pypy3.9/_cffi_backend.pypy39-pp73-x86_64-linux-gnu.so"}}},
		Patch: map[string]string{"lib/pypy3.9/_cffi_backend.pypy39-pp73-x86_64-linux-gnu.so": "$ORIGIN/../.."},
	}
	o := &Options{Release: r, Target: tg}
	tree := &TreeResult{Key: treeKey, VMKey: vmOut.Key}
	for _, c := range []struct {
		name  string
		stage Stage
		want  string
	}{
		{"vm-debian", &vmDebianStage{vmFor: vmFor{r, tg}, packages: vmPkgs}, string(vmOut.Key)},
		{"ensurepip", &ensurepipStage{packages: wheelPkgs, wheels: r.Ensurepip}, string(wheelKey)},
		{"ensurepip without pins", &ensurepipStage{}, "f51389aaf6ebbc420e685b22497e2692d33387cd5d4fbf6bf8bc506de05cea8b"},
		{"vm-upstream", &vmUpstreamStage{vmFor: vmFor{r, tg}, archive: "x.tar.bz2", sha256: h("e")}, "cce15b48df75839147d33ded0aff17982b563592ea5d654400c1add5ffecb95a"},
		{"vm-translate", &vmTranslateStage{translation: &translator.Report{Key: h("f")}, sourceDigest: "git-tree:" + strings.Repeat("1", 40)},
			"f0bd831f722b156c6e009a7cb38a563a42e140376ac302568416a264bca8d12c"},
		{"cffi on the host", &cffiStage{in: vmOut, opts: cffi.Options{Only: []string{}, Without: []string{"_blake2", "_sha3", "_ssl"}}, driver: h("2"),
			toolchain: []string{"cc=gcc (Debian 12.2.0-14) 12.2.0", "libssl-dev=3.0.15-1~deb12u1"}},
			"c45a5e2226bd00730bd4da68b0b5a712fe82366bf071a85741d6ff6d9b74d77c"},
		{"cffi without a toolchain", &cffiStage{in: vmOut, opts: cffi.Options{Only: []string{}, Without: []string{"_blake2", "_sha3", "_ssl"}}, driver: h("2")},
			"4e3586028f0623e0ddc267956030df9465eec54a5fe49ce3cd97f7ec4d1aad27"},
		{"cffi in the image", &cffiStage{in: vmOut, opts: cffi.Options{Only: []string{"_ssl"}, Without: []string{}}, driver: h("2"), builder: image},
			"513421a2afe9771ccd351308eaa8121b4ec8896e170aa2518babdcf3aa013071"},
		{"portable on the host", &portableStage{in: vmOut, plan: plan}, "c5d0bd2274d04565fc2a947a2b6a89ee879d7bad93aa14a5d3b78cb023367564"},
		{"portable in the image", &portableStage{in: vmOut, plan: plan, builder: image}, "92ba39699a600d3c708aba4d9df962055efa2b1bd020712491a82b14276a0874"},
		{"strip", &stripStage{in: vmOut, binutils: "GNU strip (GNU Binutils for Debian) 2.40"}, "f4f37b89397ca4c048747524dc686576a20933e7ba2ba175db2a2c7fa920c7bc"},
		{"assemble", &assembleStage{vm: vmOut, wheelKey: wheelKey, release: r, target: tg}, string(treeKey)},
		{"assemble without wheels", &assembleStage{vm: vmOut, release: r, target: tg}, "f8bea426ad944d32cc857f30dd6020591c936a74e01f2ade3b678d0ebd7747a8"},
		{"smoke", &smokeStage{treeKey: treeKey}, "1a6cbd1e14095c004590170baca986894327228a80269c23fecea0dff09a03cf"},
		{"archive", newPackStage(o, "archive", "archive", map[string]any{"tree": tree.Key}, "", r.ArchiveBase(tg), archive.Format("tar.bz2")),
			"d7bd44877f7a9be40133d7f243d37c45b999f6de24160eecd0e8f8de03382408"},
		{"zip", newPackStage(o, "archive", "archive", map[string]any{"tree": tree.Key}, "", r.ArchiveBase(tg), archive.Format("zip")),
			"513099cf08d3c6fbdf33cfc4492672ba1d838b3dedb1f3a78a9fa29c75c49725"},
		{"debug archive", newPackStage(o, "archive-debug", "debug-archive", map[string]any{"vm": tree.VMKey}, "", r.ArchiveBase(tg)+"-debug", archive.Format("tar.gz")),
			"f826e8ec530e4b21191fb0d625bf4377f02fad96c726187d9065e9685916bc51"},
	} {
		got, err := c.stage.Key()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if string(got) != c.want {
			t.Errorf("%s (stage %s): key %s, want %s: a changed key needs a version bump", c.name, c.stage.Name(), got, c.want)
		}
	}
}

// TestOutputStages: one archive per format, the debug archive in the
// first format only when the strip stage kept debug info, and zip only
// for Windows.
func TestOutputStages(t *testing.T) {
	r := &platforms.Release{Name: "pypy3.11-v7.3.20", PyPyVersion: "7.3.20", PythonVersion: "3.11.13", SourceDateEpoch: 1751587200}
	linux := &platforms.Target{Name: "linux-amd64", OS: "linux", Platform: "linux64"}
	stripped := t.TempDir()
	if err := os.Mkdir(filepath.Join(stripped, strip.DebugDir), 0o755); err != nil {
		t.Fatal(err)
	}
	names := func(ss []*packStage) string {
		var out []string
		for _, s := range ss {
			out = append(out, s.Name()+"="+s.file()+"/"+string(s.kind))
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct {
		name    string
		target  *platforms.Target
		vmDir   string
		formats []string
		want    string
	}{
		{"not stripped", linux, t.TempDir(), []string{"tar.bz2", "tar.gz"},
			"archive:tar.bz2=pypy3.11-v7.3.20-linux64.tar.bz2/archive archive:tar.gz=pypy3.11-v7.3.20-linux64.tar.gz/archive"},
		{"stripped", linux, stripped, []string{"tar.gz", "zip"},
			"archive:tar.gz=pypy3.11-v7.3.20-linux64.tar.gz/archive archive:zip=pypy3.11-v7.3.20-linux64.zip/archive " +
				"archive-debug:tar.gz=pypy3.11-v7.3.20-linux64-debug.tar.gz/debug-archive"},
		{"no formats", linux, stripped, nil, ""},
	} {
		o := &Options{Release: r, Target: c.target}
		got, err := outputStages(o, &TreeResult{Dir: "/tree", VMDir: c.vmDir}, c.formats)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if names(got) != c.want {
			t.Errorf("%s: %s, want %s", c.name, names(got), c.want)
		}
	}
	win := &platforms.Target{Name: "windows-amd64", OS: "windows", Platform: "win64"}
	if _, err := outputStages(&Options{Release: r, Target: win}, &TreeResult{}, []string{"zip", "tar.gz"}); err == nil || !strings.Contains(err.Error(), "zip archives only") {
		t.Errorf("windows tar.gz: %v, want refused", err)
	}
	if _, err := outputStages(&Options{Release: r, Target: linux}, &TreeResult{}, []string{"rar"}); err == nil {
		t.Error("unknown format accepted")
	}
}
