// Package archive writes deterministic release archives of a directory
// tree (tar.bz2, tar.gz, tar.xz, tar.zst, zip) and extracts archives
// safely, refusing entries that would land outside the destination.
package archive

import (
	"fmt"
	"strings"
)

// Format is an archive format, named by its file extension.
type Format string

// The formats pypyctl writes and reads.
const (
	TarBz2 Format = "tar.bz2"
	TarGz  Format = "tar.gz"
	TarXz  Format = "tar.xz"
	TarZst Format = "tar.zst"
	Zip    Format = "zip"
)

// Formats lists every supported format.
var Formats = []Format{TarBz2, TarGz, TarXz, TarZst, Zip}

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == strings.TrimPrefix(strings.TrimSpace(s), ".") {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown archive format %q (want one of tar.bz2, tar.gz, tar.xz, tar.zst, zip)", s)
}

// FormatOf tells the format from a file name.
func FormatOf(name string) (Format, error) {
	for _, f := range Formats {
		if strings.HasSuffix(name, "."+string(f)) {
			return f, nil
		}
	}
	return "", fmt.Errorf("%s: not a known archive type (.tar.bz2, .tar.gz, .tar.xz, .tar.zst, .zip)", name)
}

// Ext is the file extension with its dot.
func (f Format) Ext() string { return "." + string(f) }
