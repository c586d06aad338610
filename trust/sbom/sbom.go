// Package sbom describes a built PyPy tree as a CycloneDX 1.6 SBOM: the
// VM and other ELF files with their digests, the stdlib, the native
// libraries they link (found from ELF NEEDED/SONAME, named by the Debian
// packages that provide them), the Debian packages the VM came from and
// the Python wheels (ensurepip's pip, setuptools, …). The same inputs
// give the same bytes: the serial number is derived from the content and
// the timestamp from SOURCE_DATE_EPOCH.
package sbom

import (
	"bytes"
	"context"
	"crypto/sha1" //nolint:gosec // UUIDv5 is defined over SHA-1; it names, it does not protect
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/pypyctl/pypyctl/internal/debrepo"
	"github.com/pypyctl/pypyctl/internal/fsutil"
)

// SpecVersion is the CycloneDX version written.
const SpecVersion = cdx.SpecVersion1_6

// Property names pypyctl adds to components.
const (
	PropSoname   = "pypyctl:soname"   // a soname the component provides to the tree
	PropNeeded   = "pypyctl:needed"   // an ELF file's DT_NEEDED entry
	PropLocation = "pypyctl:location" // where the component is in the tree
	PropUpstream = "pypyctl:upstream" // the upstream project of a Debian package
	PropDepends  = "pypyctl:deb-depends"
	PropRole     = "pypyctl:role" // input-deb | ensurepip | system-library | bundled-library
)

// Description is what the caller knows about the tree beyond its files.
type Description struct {
	Release         Release
	Target          string // e.g. linux-amd64
	Arch            string // Debian architecture of the tree's binaries, e.g. amd64
	SourceDateEpoch *int64 // nil: no timestamp
	PypyctlVersion  string
	Wheels          []Wheel   // the ensurepip wheels
	Debs            []Deb     // Debian packages the VM was made from
	Libraries       []Library // packages providing the tree's NEEDED sonames
}

// Release names the PyPy release.
type Release struct {
	Name          string // pypy3.9-v7.3.11
	PyPyVersion   string // 7.3.11
	PythonVersion string // 3.9.16
}

// Wheel is a pinned ensurepip wheel.
type Wheel struct {
	Name, Version, SHA256 string
	License               string // SPDX; "" to take it from the wheel in the tree
}

// Deb is a Debian package that went into the tree.
type Deb struct {
	Name, Version, Arch, SHA256 string
	Depends                     string // Pre-Depends and Depends of the control file, verbatim
	License                     string // SPDX; "" for pypyctl's table or none
}

// Library says which Debian package provides a soname.
type Library struct {
	Soname  string
	Package string // "" when unresolved
	Version string
	Arch    string
	License string // SPDX; "" for pypyctl's table or none
}

// Generate builds the SBOM of a scanned tree.
func Generate(t *Tree, d Description) (*cdx.BOM, error) {
	if d.Release.Name == "" || d.Release.PyPyVersion == "" {
		return nil, errors.New("sbom: release name and PyPy version are required")
	}
	g := &generator{t: t, d: d, comps: map[string]*cdx.Component{}, deps: map[string]map[string]bool{}}
	if err := g.build(); err != nil {
		return nil, err
	}
	return g.bom()
}

// Marshal encodes a BOM as indented CycloneDX 1.6 JSON.
func Marshal(bom *cdx.BOM) ([]byte, error) {
	var b bytes.Buffer
	if err := cdx.NewBOMEncoder(&b, cdx.BOMFileFormatJSON).SetPretty(true).SetEscapeHTML(false).EncodeVersion(bom, SpecVersion); err != nil {
		return nil, fmt.Errorf("encode SBOM: %w", err)
	}
	return b.Bytes(), nil
}

// Write scans root, generates its SBOM and writes it to path.
func Write(ctx context.Context, path, root string, d Description) (*cdx.BOM, error) {
	t, err := Scan(ctx, root)
	if err != nil {
		return nil, err
	}
	bom, err := Generate(t, d)
	if err != nil {
		return nil, err
	}
	b, err := Marshal(bom)
	if err != nil {
		return nil, err
	}
	if err := fsutil.WriteFileAtomic(path, b, 0o644); err != nil {
		return nil, err
	}
	return bom, nil
}

type generator struct {
	t     *Tree
	d     Description
	root  string                     // bom-ref of the tree
	comps map[string]*cdx.Component  // by bom-ref
	deps  map[string]map[string]bool // ref → refs it depends on
}

func (g *generator) add(c *cdx.Component) *cdx.Component {
	if old, ok := g.comps[c.BOMRef]; ok {
		return old
	}
	g.comps[c.BOMRef] = c
	return c
}

func (g *generator) dependsOn(from, to string) {
	if from == to {
		return
	}
	if g.deps[from] == nil {
		g.deps[from] = map[string]bool{}
	}
	g.deps[from][to] = true
}

func (g *generator) build() error {
	g.root = "pypy:" + g.d.Release.Name
	// Debian packages the VM came from.
	debRefs := map[string]string{} // package name → ref
	for _, deb := range g.d.Debs {
		if err := checkSHA256(deb.SHA256); err != nil {
			return fmt.Errorf("sbom: deb %s: %w", deb.Name, err)
		}
		c := g.debComponent(deb.Name, deb.Version, deb.Arch, deb.License)
		c.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: strings.ToLower(deb.SHA256)}}
		addProp(c, PropRole, "input-deb")
		if deb.Depends != "" {
			addProp(c, PropDepends, deb.Depends)
		}
		debRefs[deb.Name] = c.BOMRef
		g.dependsOn(g.root, c.BOMRef)
	}

	// Native libraries the tree's ELF files need, by soname.
	libRefs := map[string]string{} // soname → ref
	for _, l := range g.d.Libraries {
		var c *cdx.Component
		if l.Package == "" {
			continue
		}
		arch := l.Arch
		if arch == "" {
			arch = g.d.Arch
		}
		c = g.debComponent(l.Package, l.Version, arch, l.License)
		addProp(c, PropSoname, l.Soname)
		if !hasProp(c, PropRole) {
			addProp(c, PropRole, "system-library")
		}
		libRefs[l.Soname] = c.BOMRef
	}

	// Depends of the input debs, onto every Debian package listed here.
	byName := map[string]string{}
	for _, l := range g.d.Libraries {
		if ref, ok := libRefs[l.Soname]; ok {
			byName[l.Package] = ref
		}
	}
	for n, ref := range debRefs {
		byName[n] = ref
	}
	for _, deb := range g.d.Debs {
		deps, err := dependsNames(deb.Depends)
		if err != nil {
			return fmt.Errorf("sbom: deb %s: %w", deb.Name, err)
		}
		for _, dep := range deps {
			if ref, ok := byName[dep]; ok {
				g.dependsOn(debRefs[deb.Name], ref)
			}
		}
	}

	// ELF files: the launcher, the VM, the cffi modules, bundled libs.
	for _, f := range g.t.ELF {
		c := g.add(&cdx.Component{
			BOMRef: "file:" + f.Path,
			Type:   cdx.ComponentTypeFile,
			Name:   f.Path,
			Hashes: &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: f.SHA256}},
		})
		for _, n := range f.Needed {
			addProp(c, PropNeeded, n)
		}
		if f.Soname != "" {
			addProp(c, PropSoname, f.Soname)
		}
		g.dependsOn(g.root, c.BOMRef)
	}
	for _, f := range g.t.ELF {
		from := "file:" + f.Path
		for _, n := range f.Needed {
			if p := g.t.provider(n); p != nil {
				g.dependsOn(from, "file:"+p.Path)
				if ref, ok := libRefs[n]; ok { // a bundled copy of a known package
					c := g.comps[ref]
					addProp(c, PropLocation, p.Path)
					setProp(c, PropRole, "bundled-library")
					g.dependsOn(from, ref)
				}
				continue
			}
			ref, ok := libRefs[n]
			if !ok {
				// Unresolved: still listed, so the SBOM never hides a
				// dependency it could not name.
				ref = "soname:" + n
				c := g.add(&cdx.Component{BOMRef: ref, Type: cdx.ComponentTypeLibrary, Name: n})
				if !hasProp(c, PropSoname) {
					addProp(c, PropSoname, n)
					addProp(c, PropRole, "system-library")
				}
			}
			g.dependsOn(from, ref)
			g.dependsOn(g.root, ref)
		}
	}

	// The stdlib (lib-python merged with lib_pypy).
	if g.t.Stdlib != "" {
		c := g.add(&cdx.Component{
			BOMRef:      "pypy-stdlib",
			Type:        cdx.ComponentTypeLibrary,
			Name:        "pypy-stdlib",
			Version:     g.d.Release.PythonVersion,
			Description: "Python standard library with PyPy's lib_pypy",
			Licenses:    licenses("PSF-2.0 AND MIT"),
		})
		addProp(c, PropLocation, g.t.Stdlib)
		g.dependsOn(g.root, c.BOMRef)
	}

	// Python packages: pinned wheels, and whatever wheels or installed
	// distributions the tree really holds.
	for _, w := range g.d.Wheels {
		if err := checkSHA256(w.SHA256); err != nil {
			return fmt.Errorf("sbom: wheel %s: %w", w.Name, err)
		}
		c := g.pypiComponent(w.Name, w.Version, w.License)
		setHash(c, w.SHA256)
		addProp(c, PropRole, "ensurepip")
	}
	for _, p := range g.t.Python {
		c := g.pypiComponent(p.Name, p.Version, p.License)
		addProp(c, PropLocation, p.Path)
		if p.SHA256 != "" {
			if h := hashOf(c); h != "" && h != p.SHA256 && strings.HasSuffix(p.Path, ".whl") {
				return fmt.Errorf("sbom: %s has sha256 %s, but the pinned %s %s wheel is %s", p.Path, p.SHA256, p.Name, p.Version, h)
			}
			setHash(c, p.SHA256)
		}
	}
	return nil
}

func (g *generator) debComponent(name, version, arch, license string) *cdx.Component {
	purl := DebPURL(name, version, arch)
	c := g.add(&cdx.Component{BOMRef: purl, Type: cdx.ComponentTypeLibrary, Name: name, Version: version, PackageURL: purl})
	if c.Licenses == nil {
		if license == "" {
			license = upstream[name].license
		}
		c.Licenses = licenses(license)
	}
	if u := upstream[name].project; u != "" && !hasProp(c, PropUpstream) {
		addProp(c, PropUpstream, u)
	}
	g.dependsOn(g.root, c.BOMRef)
	return c
}

func (g *generator) pypiComponent(name, version, license string) *cdx.Component {
	purl := PyPIPURL(name, version)
	c := g.add(&cdx.Component{BOMRef: purl, Type: cdx.ComponentTypeLibrary, Name: normalizePyName(name), Version: version, PackageURL: purl})
	if c.Licenses == nil {
		c.Licenses = licenses(license)
	}
	g.dependsOn(g.root, c.BOMRef)
	return c
}

func (g *generator) bom() (*cdx.BOM, error) {
	d := g.d
	rootComp := &cdx.Component{
		BOMRef:     g.root,
		Type:       cdx.ComponentTypeApplication,
		Name:       d.Release.Name,
		Version:    d.Release.PyPyVersion,
		PackageURL: "pkg:generic/pypy@" + escape(d.Release.PyPyVersion),
		Licenses:   licenses("MIT"),
	}
	for k, v := range map[string]string{"pypyctl:python-version": d.Release.PythonVersion, "pypyctl:target": d.Target, "pypyctl:arch": d.Arch} {
		if v != "" {
			addProp(rootComp, k, v)
		}
	}
	addProp(rootComp, "pypyctl:files", strconv.Itoa(g.t.NumFiles))
	sortProps(rootComp)

	comps := make([]cdx.Component, 0, len(g.comps))
	for _, c := range g.comps {
		sortProps(c)
		comps = append(comps, *c)
	}
	sort.Slice(comps, func(i, j int) bool { return comps[i].BOMRef < comps[j].BOMRef })

	var deps []cdx.Dependency
	for ref, to := range g.deps {
		list := make([]string, 0, len(to))
		for t := range to {
			list = append(list, t)
		}
		sort.Strings(list)
		deps = append(deps, cdx.Dependency{Ref: ref, Dependencies: &list})
	}
	sort.Slice(deps, func(i, j int) bool { return deps[i].Ref < deps[j].Ref })

	tool := cdx.Component{Type: cdx.ComponentTypeApplication, Name: "pypyctl", Version: d.PypyctlVersion}
	bom := &cdx.BOM{
		JSONSchema:  "http://cyclonedx.org/schema/bom-1.6.schema.json",
		BOMFormat:   cdx.BOMFormat,
		SpecVersion: SpecVersion,
		Version:     1,
		Metadata: &cdx.Metadata{
			Tools:     &cdx.ToolsChoice{Components: &[]cdx.Component{tool}},
			Component: rootComp,
		},
		Components:   &comps,
		Dependencies: &deps,
	}
	if d.SourceDateEpoch != nil {
		bom.Metadata.Timestamp = time.Unix(*d.SourceDateEpoch, 0).UTC().Format(time.RFC3339)
	}
	// The serial number names this exact content: a UUIDv5 of the
	// digest of the BOM encoded without it.
	b, err := Marshal(bom)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	bom.SerialNumber = "urn:uuid:" + uuidV5(urlNamespace, "pypyctl-sbom:sha256:"+hex.EncodeToString(sum[:]))
	return bom, nil
}

// DebPURL is the package URL of a Debian binary package.
func DebPURL(name, version, arch string) string {
	p := "pkg:deb/debian/" + escape(name)
	if version != "" {
		p += "@" + escape(version)
	}
	if arch != "" {
		p += "?arch=" + escape(arch)
	}
	return p
}

// PyPIPURL is the package URL of a Python distribution (name normalised
// as PEP 503 and the purl spec say).
func PyPIPURL(name, version string) string {
	p := "pkg:pypi/" + escape(normalizePyName(name))
	if version != "" {
		p += "@" + escape(version)
	}
	return p
}

func normalizePyName(n string) string {
	n = strings.ToLower(n)
	return strings.NewReplacer("_", "-", ".", "-").Replace(n)
}

// escape percent-encodes a purl segment: '+' and ':' in Debian versions
// must not read as separators.
func escape(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), "+", "%2B")
}

// dependsNames lists the package names in a Depends field (debrepo's
// relation parser), dropping version constraints and architecture
// qualifiers; alternatives count.
func dependsNames(depends string) ([]string, error) {
	rels, err := debrepo.Relations(depends)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, alts := range rels {
		out = append(out, alts...)
	}
	return out, nil
}

func addProp(c *cdx.Component, name, value string) {
	if c.Properties == nil {
		c.Properties = &[]cdx.Property{}
	}
	for _, p := range *c.Properties {
		if p.Name == name && p.Value == value {
			return
		}
	}
	*c.Properties = append(*c.Properties, cdx.Property{Name: name, Value: value})
}

func setProp(c *cdx.Component, name, value string) {
	if c.Properties != nil {
		kept := (*c.Properties)[:0]
		for _, p := range *c.Properties {
			if p.Name != name {
				kept = append(kept, p)
			}
		}
		*c.Properties = kept
	}
	addProp(c, name, value)
}

func hasProp(c *cdx.Component, name string) bool {
	return c.Properties != nil && slices.ContainsFunc(*c.Properties, func(p cdx.Property) bool { return p.Name == name })
}

func sortProps(c *cdx.Component) {
	if c.Properties == nil {
		return
	}
	sort.SliceStable(*c.Properties, func(i, j int) bool {
		a, b := (*c.Properties)[i], (*c.Properties)[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Value < b.Value
	})
}

func setHash(c *cdx.Component, sha string) {
	c.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: strings.ToLower(sha)}}
}

func hashOf(c *cdx.Component) string {
	if c.Hashes == nil {
		return ""
	}
	for _, h := range *c.Hashes {
		if h.Algorithm == cdx.HashAlgoSHA256 {
			return h.Value
		}
	}
	return ""
}

func checkSHA256(s string) error {
	if b, err := hex.DecodeString(s); err != nil || len(b) != 32 {
		return fmt.Errorf("sha256 %q is not 64 hex digits", s)
	}
	return nil
}

// urlNamespace is RFC 4122's namespace for URLs.
var urlNamespace = [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}

// uuidV5 is RFC 4122's name-based UUID (SHA-1), the form CycloneDX's
// serialNumber pattern accepts.
func uuidV5(ns [16]byte, name string) string {
	h := sha1.New() //nolint:gosec
	h.Write(ns[:])
	io.WriteString(h, name)
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	x := hex.EncodeToString(u)
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}
