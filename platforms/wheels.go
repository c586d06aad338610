package platforms

import (
	"fmt"
	"strings"
)

// checkWheels validates a release's wheels: section: named, unique
// sources whose targets the release ships.
func (v *validator) checkWheels(i int, r *Release, label string) {
	seen := map[string]bool{}
	for j, w := range r.Wheels {
		wl := fmt.Sprintf("release %s: wheels[%d]", label, j)
		if w.Name == "" {
			v.report(v.near("releases", i, "wheels", j, "name"), "%s: name is required", wl)
		} else if seen[w.Name] {
			v.report(v.near("releases", i, "wheels", j, "name"), "%s: wheel %q is listed twice", wl, w.Name)
		}
		seen[w.Name] = true
		if w.Path == "" {
			v.report(v.near("releases", i, "wheels", j, "path"), "%s: path (a source dir or .tar.gz sdist) is required", wl)
		}
		for k, t := range w.Targets {
			if _, ok := r.Target(t); !ok {
				var names []string
				for _, rt := range r.Targets {
					names = append(names, rt.Name)
				}
				v.report(v.near("releases", i, "wheels", j, "targets", k), "%s: target %q is not one of the release's (%s)", wl, t, strings.Join(names, ", "))
			}
		}
	}
}
