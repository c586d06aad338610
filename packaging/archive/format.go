package archive

import reader "github.com/pypyctl/pypyctl/internal/archive"

// Format and its names belong to internal/archive, the reading side,
// which the installer links without these encoders; they are re-exported
// so a writer's caller needs one import.
type Format = reader.Format

// The formats pypyctl writes and reads.
const (
	TarBz2 = reader.TarBz2
	TarGz  = reader.TarGz
	TarXz  = reader.TarXz
	TarZst = reader.TarZst
	Zip    = reader.Zip
)

// AllFormats lists every supported format, in a stable order.
func AllFormats() []Format { return reader.AllFormats() }

// ParseFormat accepts a format name with or without a leading dot.
func ParseFormat(s string) (Format, error) { return reader.ParseFormat(s) }

// FormatOf tells the format of an archive from its file name.
func FormatOf(filename string) (Format, error) { return reader.FormatOf(filename) }
