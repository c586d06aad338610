package archive

import (
	"github.com/pypyctl/pypyctl/internal/archive/archivetest"
	"github.com/pypyctl/pypyctl/internal/testtool"
)

// The helpers shared with packaging/archive's tests.
var (
	noiseText = archivetest.NoiseText
	must      = archivetest.Must
	run       = archivetest.Run
	needTool  = testtool.Need // skips when a reference tool is missing (scripts/setup.sh installs them all)
)
