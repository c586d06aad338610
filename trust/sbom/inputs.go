package sbom

import (
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/vm"
)

// WheelProject is a wheel file name's project part (pip-23.0.1-….whl → pip).
func WheelProject(file string) string {
	name, _, _ := strings.Cut(file, "-")
	return name
}

// InputPURL names one of a tree's pinned inputs: a wheel, a Debian
// package, or (an upstream archive) a generic file named by its digest.
func InputPURL(in vm.Input) string {
	switch {
	case strings.HasSuffix(in.Name, ".whl"):
		return PyPIPURL(WheelProject(in.Name), in.Version)
	case in.Arch != "":
		return DebPURL(in.Name, in.Version, in.Arch)
	}
	return "pkg:generic/" + in.Name + "?checksum=sha256:" + in.SHA256
}

// AddInputs files a tree's pinned inputs into d: wheels as ensurepip
// wheels, Debian packages as the packages the VM was made from.
func (d *Description) AddInputs(ins []vm.Input) {
	for _, x := range ins {
		switch {
		case strings.HasSuffix(x.Name, ".whl"):
			d.Wheels = append(d.Wheels, Wheel{Name: WheelProject(x.Name), Version: x.Version, SHA256: x.SHA256})
		case x.Arch != "":
			d.Debs = append(d.Debs, Deb{Name: x.Name, Version: x.Version, Arch: x.Arch, SHA256: x.SHA256})
		}
	}
}

// GenerateTarget is the SBOM of release r's tree for target t, made from
// inputs (the VM's .debs and wheels) and libs (the packages providing its
// sonames): the one description the archives' SBOM and each platform
// image's SBOM share.
func GenerateTarget(tree *Tree, r *platforms.Release, t *platforms.Target, builder string, libs []Library, inputs []vm.Input) (*cdx.BOM, error) {
	sde := r.SourceDateEpoch
	d := Description{
		Release:         Release{Name: r.Name, PyPyVersion: r.PyPyVersion, PythonVersion: r.PythonVersion},
		Target:          t.Name,
		Arch:            t.DebianArch,
		SourceDateEpoch: &sde,
		PypyctlVersion:  builder,
		Libraries:       libs,
	}
	d.AddInputs(inputs)
	return Generate(tree, d)
}
