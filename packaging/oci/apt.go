package oci

import "github.com/pypyctl/pypyctl/internal/debrepo"

// The archive types live in internal/debrepo, shared with the
// translator's builder images.
type (
	Candidate = debrepo.Candidate
	Archive   = debrepo.Archive
	Apt       = debrepo.Apt
)
