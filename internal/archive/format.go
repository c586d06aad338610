package archive

import (
	"fmt"
	"strings"
)

// Format is an archive format, named by its file-name extension.
type Format string

// The formats pypyctl writes and reads.
const (
	TarBz2 Format = "tar.bz2"
	TarGz  Format = "tar.gz"
	TarXz  Format = "tar.xz"
	TarZst Format = "tar.zst"
	Zip    Format = "zip"
)

// AllFormats lists every supported format, in a stable order.
func AllFormats() []Format { return []Format{TarBz2, TarGz, TarXz, TarZst, Zip} }

// ParseFormat accepts a format name with or without a leading dot
// ("tar.bz2", ".zip").
func ParseFormat(s string) (Format, error) {
	f := Format(strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "."))
	for _, known := range AllFormats() {
		if f == known {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown archive format %q (want one of tar.bz2, tar.gz, tar.xz, tar.zst, zip)", s)
}

// FormatOf tells the format of an archive from its file name.
func FormatOf(filename string) (Format, error) {
	lower := strings.ToLower(filename)
	for _, f := range AllFormats() {
		if strings.HasSuffix(lower, "."+string(f)) {
			return f, nil
		}
	}
	return "", fmt.Errorf("cannot tell the archive format of %q from its name (want .tar.bz2, .tar.gz, .tar.xz, .tar.zst or .zip)", filename)
}

// Ext is the file-name extension of the format, with its leading dot.
func (f Format) Ext() string { return "." + string(f) }

// IsTar reports whether the format is a compressed tar.
func (f Format) IsTar() bool { return f != Zip }
