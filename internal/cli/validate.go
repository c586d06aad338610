package cli

import (
	"strings"

	"github.com/pypyctl/pypyctl/platforms"
)

// checkFormats parses --formats before any work: a typo such as tar.bz3
// fails in a millisecond, not after a translation.
func checkFormats(s string) ([]string, error) {
	list := splitList(s)
	known := platforms.ArchiveFormats()
	for _, f := range list {
		ok := false
		for _, k := range known {
			ok = ok || f == k
		}
		if !ok {
			return nil, Usagef("--formats: %q is not one of %s", f, strings.Join(known, ", "))
		}
	}
	return list, nil
}

// checkSignFlags refuses a --key that would be ignored: without --sign
// nothing is signed, and saying nothing would ship unsigned outputs.
func checkSignFlags(sign bool, key string) error {
	switch {
	case sign && key == "":
		return Usagef("--sign needs --key KEY (make one with `pypyctl keys generate`)")
	case !sign && key != "":
		return Usagef("--key is given without --sign, so nothing would be signed: add --sign")
	}
	return nil
}

// checkBuildFlags checks the flags build and release share before any
// work: --sign and --key together (checkSignFlags), then --formats
// (checkFormats), which it returns parsed.
func checkBuildFlags(sign bool, key, formats string) ([]string, error) {
	if err := checkSignFlags(sign, key); err != nil {
		return nil, err
	}
	return checkFormats(formats)
}
