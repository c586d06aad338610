package sbom

import (
	"bytes"
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/pypyctl/pypyctl/internal/dirs"
	"github.com/pypyctl/pypyctl/internal/logging"
	"github.com/pypyctl/pypyctl/internal/testtool"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/vm/debian"
)

// fetchDebs gets the default release's pinned amd64 .debs through the
// project's own fetcher into the project cache (verified against their
// sha256 pins), keyed by package name: the test never depends on what a
// machine has lying around or on the order files sort in.
func fetchDebs(t *testing.T) map[string]string {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		// Safe skip: it depends on the host CPU, not on the setup; CI runs on amd64.
		t.Skip("the Debian-tree SBOM test resolves amd64 libraries on an amd64 host")
	}
	testtool.Need(t, "dpkg-deb", "dpkg", "dpkg-query", "apt-get")
	m, err := platforms.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.Release(m.DefaultRelease)
	if err != nil {
		t.Fatal(err)
	}
	d, err := dirs.Resolve(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	pins := r.DebPackages("amd64")
	f := &debian.Fetcher{CacheDir: filepath.Join(d.Downloads(), "debian"), Logger: logging.Func(func(s string) { t.Log(s) })}
	paths, err := f.Fetch(context.Background(), pins)
	if err != nil {
		testtool.Missing(t, "cannot fetch the pinned Debian packages (apt sources for bookworm; %s sets them up): %v", testtool.Setup, err)
	}
	byName := map[string]string{}
	for i, p := range pins {
		byName[p.Name] = paths[i]
	}
	for _, want := range []string{"pypy3", "pypy3-lib", "python3-pip-whl", "python3-setuptools-whl"} {
		if byName[want] == "" {
			t.Fatalf("release %s pins no %s .deb for amd64", r.Name, want)
		}
	}
	return byName
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return strings.TrimSpace(string(out))
}

func sha256sum(t *testing.T, path string) string {
	t.Helper()
	return strings.Fields(run(t, "sha256sum", path))[0]
}

// generate scans the tree anew and builds its SBOM bytes.
func generate(t *testing.T, root string, d Description) ([]byte, *cdx.BOM) {
	t.Helper()
	tree, err := Scan(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	bom, err := Generate(tree, d)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Marshal(bom)
	if err != nil {
		t.Fatal(err)
	}
	return b, bom
}

// TestSBOMOfDebianTree builds the SBOM of Debian's real PyPy tree, with
// native libraries resolved by this host's dpkg, and checks it against
// what dpkg-query, sha256sum and readelf say independently.
func TestSBOMOfDebianTree(t *testing.T) {
	debs := fetchDebs(t)
	ctx := context.Background()
	root := t.TempDir()
	var inputs []Deb
	for _, name := range slices.Sorted(maps.Keys(debs)) {
		d := debs[name]
		run(t, "dpkg-deb", "-x", d, root)
		info, err := ReadDeb(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, info)
	}
	tree, err := Scan(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	libs, err := ResolveSonames(ctx, tree.Sonames(), "amd64")
	if err != nil {
		t.Fatal(err)
	}
	epoch := int64(1700000000)
	pipWhl := filepath.Join(root, "usr/share/python-wheels/pip-23.0.1-py3-none-any.whl")
	d := Description{
		Release:         Release{Name: "pypy3.9-v7.3.11", PyPyVersion: "7.3.11", PythonVersion: "3.9.16"},
		Target:          "linux-amd64",
		Arch:            "amd64",
		SourceDateEpoch: &epoch,
		PypyctlVersion:  "test",
		Wheels:          []Wheel{{Name: "pip", Version: "23.0.1", SHA256: sha256sum(t, pipWhl)}},
		Debs:            inputs,
		Libraries:       libs,
	}
	first, bom := generate(t, root, d)
	second, _ := generate(t, root, d)
	if !bytes.Equal(first, second) {
		t.Fatal("two SBOMs of the same tree differ")
	}
	// Write goes through the same path and must give the same bytes.
	out := filepath.Join(t.TempDir(), "sbom.cdx.json")
	if _, err := Write(ctx, out, root, d); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); !bytes.Equal(b, first) {
		t.Fatal("Write's bytes differ from Marshal's")
	}

	t.Run("schema", func(t *testing.T) { validateSchema(t, first) })

	// A second parser: cyclonedx-go's decoder.
	var back cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(first), cdx.BOMFileFormatJSON).Decode(&back); err != nil {
		t.Fatal(err)
	}
	if back.SpecVersion != cdx.SpecVersion1_6 || back.SerialNumber != bom.SerialNumber {
		t.Errorf("decoded spec %v serial %s", back.SpecVersion, back.SerialNumber)
	}
	if !regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(back.SerialNumber) {
		t.Errorf("serialNumber %q is not a UUIDv5 URN", back.SerialNumber)
	}
	if back.Metadata.Timestamp != "2023-11-14T22:13:20Z" {
		t.Errorf("timestamp = %q, want SOURCE_DATE_EPOCH's", back.Metadata.Timestamp)
	}
	byName := map[string]cdx.Component{}
	for _, c := range *back.Components {
		byName[c.Name] = c
	}

	// Native libraries, versions as dpkg-query reports them.
	for _, lib := range []struct{ pkg, soname, license string }{
		{"libssl3", "libssl.so.3", "Apache-2.0"},
		{"libsqlite3-0", "libsqlite3.so.0", "blessing"},
		{"libffi8", "libffi.so.8", "MIT"},
		{"libexpat1", "libexpat.so.1", "MIT"},
	} {
		t.Run(lib.pkg, func(t *testing.T) {
			c, ok := byName[lib.pkg]
			if !ok {
				t.Fatalf("SBOM lacks %s", lib.pkg)
			}
			want := run(t, "dpkg-query", "-W", "-f", "${Version}", lib.pkg+":amd64")
			if c.Version != want {
				t.Errorf("version %q, dpkg-query says %q", c.Version, want)
			}
			if c.PackageURL != DebPURL(lib.pkg, want, "amd64") || !strings.HasPrefix(c.PackageURL, "pkg:deb/debian/"+lib.pkg+"@") {
				t.Errorf("purl %q", c.PackageURL)
			}
			if c.Licenses == nil || (*c.Licenses)[0].License == nil || (*c.Licenses)[0].License.ID != lib.license {
				t.Errorf("licenses %+v, want %s", c.Licenses, lib.license)
			}
			if !propIs(c, PropSoname, lib.soname) {
				t.Errorf("no %s=%s property: %+v", PropSoname, lib.soname, c.Properties)
			}
		})
	}
	if c := byName["libssl3"]; !propIs(c, PropSoname, "libcrypto.so.3") || !propIs(c, PropUpstream, "openssl") {
		t.Errorf("libssl3 does not say it is openssl providing libcrypto.so.3: %+v", c.Properties)
	}

	// Python packages, with the versions and digests really in the tree.
	for _, w := range []struct{ name, version, file string }{
		{"pip", "23.0.1", "usr/share/python-wheels/pip-23.0.1-py3-none-any.whl"},
		{"setuptools", "66.1.1", "usr/share/python-wheels/setuptools-66.1.1-py3-none-any.whl"},
	} {
		c, ok := byName[w.name]
		if !ok {
			t.Errorf("SBOM lacks %s", w.name)
			continue
		}
		if c.Version != w.version || c.PackageURL != "pkg:pypi/"+w.name+"@"+w.version {
			t.Errorf("%s: version %q purl %q", w.name, c.Version, c.PackageURL)
		}
		if c.Hashes == nil || (*c.Hashes)[0].Value != sha256sum(t, filepath.Join(root, w.file)) {
			t.Errorf("%s: hashes %+v", w.name, c.Hashes)
		}
		if c.Licenses == nil || (*c.Licenses)[0].License.ID != "MIT" {
			t.Errorf("%s: licenses %+v", w.name, c.Licenses)
		}
	}

	// The VM file, its digest and NEEDED as readelf reads them, and its
	// dependency edges to the libraries.
	vm := "usr/lib/x86_64-linux-gnu/libpypy3.9-c.so"
	c, ok := byName[vm]
	if !ok {
		t.Fatalf("SBOM lacks the VM %s", vm)
	}
	if (*c.Hashes)[0].Value != sha256sum(t, filepath.Join(root, vm)) {
		t.Error("VM digest differs from sha256sum's")
	}
	// readelf is the independent check of NEEDED: required, not optional.
	if testtool.Need(t, "readelf") != nil {
		dyn := run(t, "readelf", "-d", filepath.Join(root, vm))
		for _, m := range regexp.MustCompile(`\(NEEDED\)\s+Shared library: \[([^\]]+)\]`).FindAllStringSubmatch(dyn, -1) {
			if !propIs(c, PropNeeded, m[1]) {
				t.Errorf("readelf lists NEEDED %s, the SBOM does not", m[1])
			}
		}
	}
	deps := map[string][]string{}
	for _, d := range *back.Dependencies {
		deps[d.Ref] = *d.Dependencies
	}
	for _, lib := range []string{"libffi8", "libexpat1"} {
		if !slices.Contains(deps["file:"+vm], byName[lib].BOMRef) {
			t.Errorf("VM does not depend on %s: %v", lib, deps["file:"+vm])
		}
	}
	if !slices.Contains(deps["file:usr/bin/pypy3.9"], "file:"+vm) {
		t.Errorf("launcher does not depend on the VM file: %v", deps["file:usr/bin/pypy3.9"])
	}
	// The input .debs with their digests.
	if c := byName["pypy3"]; c.Hashes == nil || (*c.Hashes)[0].Value != sha256sum(t, debs["pypy3"]) || !propIs(c, PropRole, "input-deb") {
		t.Errorf("pypy3 input deb: %+v", c)
	}
	if !slices.Contains(deps[byName["pypy3"].BOMRef], byName["pypy3-lib"].BOMRef) {
		t.Error("pypy3's Depends on pypy3-lib is not a dependency edge")
	}
	if c := byName["pypy-stdlib"]; c.Version != "3.9.16" || !propIs(c, PropLocation, "usr/lib/pypy3.9") {
		t.Errorf("stdlib component: %+v", c)
	}
}

func propIs(c cdx.Component, name, value string) bool {
	if c.Properties == nil {
		return false
	}
	for _, p := range *c.Properties {
		if p.Name == name && p.Value == value {
			return true
		}
	}
	return false
}

// validateSchema checks an SBOM against the CycloneDX JSON schema that
// cyclonedx-go ships, with Python's jsonschema (Debian: python3-jsonschema).
func validateSchema(t *testing.T, bom []byte) {
	t.Helper()
	if err := exec.Command("python3", "-c", "import jsonschema").Run(); err != nil {
		testtool.Missing(t, "python3 with jsonschema not found (%s installs python3-jsonschema)", testtool.Setup)
	}
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/CycloneDX/cyclonedx-go").Output()
	if err != nil {
		t.Fatalf("cannot locate cyclonedx-go's schemas: %v", err)
	}
	f := filepath.Join(t.TempDir(), "bom.json")
	os.WriteFile(f, bom, 0o644)
	out, err := exec.Command("python3", "-W", "ignore", "testdata/validate_cyclonedx.py", filepath.Join(strings.TrimSpace(string(dir)), "schema"), f).CombinedOutput()
	if err != nil {
		t.Fatalf("schema validation: %v\n%s", err, out)
	}
}

func TestSchemaValidatorRejects(t *testing.T) {
	// The validator must be able to fail: a licence id outside SPDX's list.
	bom := []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{"type":"library","name":"x","licenses":[{"license":{"id":"NOT-SPDX"}}]}]}`)
	if err := exec.Command("python3", "-c", "import jsonschema").Run(); err != nil {
		testtool.Missing(t, "python3 with jsonschema not found (%s installs python3-jsonschema)", testtool.Setup)
	}
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/CycloneDX/cyclonedx-go").Output()
	if err != nil {
		t.Fatalf("cannot locate cyclonedx-go's schemas: %v", err)
	}
	f := filepath.Join(t.TempDir(), "bom.json")
	os.WriteFile(f, bom, 0o644)
	if out, err := exec.Command("python3", "-W", "ignore", "testdata/validate_cyclonedx.py", filepath.Join(strings.TrimSpace(string(dir)), "schema"), f).CombinedOutput(); err == nil {
		t.Fatalf("validator accepted an invalid licence id: %s", out)
	}
}
