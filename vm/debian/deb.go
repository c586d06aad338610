package debian

import "github.com/pypyctl/pypyctl/internal/debfile"

// Deb and Control live in internal/debfile, the base library every .deb
// reader shares; the names stay here for the importer's callers.
type (
	Deb     = debfile.Deb
	Control = debfile.Control
)

// Open reads a .deb's control file.
func Open(path string) (*Deb, error) { return debfile.Open(path) }
