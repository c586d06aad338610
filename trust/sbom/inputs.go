package sbom

import (
	"strings"

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
