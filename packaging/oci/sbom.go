package oci

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/trust/provenance"
	"github.com/pypyctl/pypyctl/trust/sbom"
)

// Media and predicate types of what is attached to images.
const (
	SBOMMediaType           = "application/vnd.cyclonedx+json"
	InTotoMediaType         = provenance.PayloadType
	CycloneDXPredicateType  = "https://cyclonedx.org/bom"
	SLSAProvenancePredicate = provenance.PredicateType
)

// Component properties this package adds to the tree's SBOM.
const (
	propLayer    = "pypyctl:layer"    // base | pypy
	propImage    = "pypyctl:image"    // the platform image's digest
	propPlatform = "pypyctl:platform" // os/arch[/variant]
	propPrefix   = "pypyctl:prefix"   // where the tree is in the image
)

// serialNumber derives an SBOM's URN from the image it describes, so the
// same image always gets the same document.
func serialNumber(seed string) string {
	s := sha256.Sum256([]byte(seed))
	s[6] = s[6]&0x0f | 0x50 // name-based UUID
	s[8] = s[8]&0x3f | 0x80
	h := hex.EncodeToString(s[:16])
	return fmt.Sprintf("urn:uuid:%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
}

// imageSBOM is the CycloneDX document of one platform image: trust/sbom's
// SBOM of the tree (its files, stdlib, wheels, the Debian packages the VM
// came from, and which base package provides each library it needs),
// plus every other package of the base layer, each hashed by its .deb.
func imageSBOM(ctx context.Context, r *platforms.Release, in Input, img *Image, builder string) ([]byte, error) {
	t, err := sbom.Scan(ctx, in.Tree)
	if err != nil {
		return nil, fmt.Errorf("SBOM: %w", err)
	}
	bom, err := sbom.GenerateTarget(t, r, in.Target, builder, img.libraries, in.Inputs)
	if err != nil {
		return nil, err
	}
	byRef := map[string]*cdx.Component{}
	comps := *bom.Components
	for i := range comps {
		byRef[comps[i].BOMRef] = &comps[i]
	}
	var added []cdx.Component
	var refs []string
	for _, p := range img.Packages {
		ref := sbom.DebPURL(p.Name, p.Version, p.Arch)
		refs = append(refs, ref)
		c := byRef[ref]
		if c == nil {
			added = append(added, cdx.Component{BOMRef: ref, Type: cdx.ComponentTypeLibrary, Name: p.Name, Version: p.Version, PackageURL: ref})
			c = &added[len(added)-1]
		}
		c.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: p.SHA256}}
		addProperty(c, propLayer, "base")
	}
	comps = append(comps, added...)
	sort.Slice(comps, func(i, j int) bool { return comps[i].BOMRef < comps[j].BOMRef })
	bom.Components = &comps
	// The release depends on the whole base.
	root := bom.Metadata.Component.BOMRef
	if bom.Dependencies != nil {
		for i, dep := range *bom.Dependencies {
			if dep.Ref == root {
				set := map[string]bool{}
				for _, r := range *dep.Dependencies {
					set[r] = true
				}
				for _, r := range refs {
					set[r] = true
				}
				list := slices.Sorted(maps.Keys(set))
				(*bom.Dependencies)[i].Dependencies = &list
			}
		}
	}
	// The scan counted what is on disk; the image holds what the layer
	// holds (no bytecode caches).
	setProperty(bom.Metadata.Component, sbomFilesProperty, strconv.Itoa(img.treeFiles))
	addProperty(bom.Metadata.Component, propLayer, "pypy")
	addProperty(bom.Metadata.Component, propPrefix, Prefix)
	addProperty(bom.Metadata.Component, propImage, img.Digest.String())
	addProperty(bom.Metadata.Component, propPlatform, img.Platform.String())
	bom.SerialNumber = serialNumber("pypyctl-oci-sbom:" + img.Digest.String())
	return sbom.Marshal(bom)
}

// sbomFilesProperty is trust/sbom's count of the tree's regular files.
const sbomFilesProperty = "pypyctl:files"

func setProperty(c *cdx.Component, name, value string) {
	if c.Properties != nil {
		for i, p := range *c.Properties {
			if p.Name == name {
				(*c.Properties)[i].Value = value
				return
			}
		}
	}
	addProperty(c, name, value)
}

func addProperty(c *cdx.Component, name, value string) {
	var props []cdx.Property
	if c.Properties != nil {
		props = *c.Properties
	}
	props = append(props, cdx.Property{Name: name, Value: value})
	sort.SliceStable(props, func(i, j int) bool { return props[i].Name < props[j].Name })
	c.Properties = &props
}
