// Command catalogue regenerates install/catalogue/upstream.json from
// pypy.org's versions.json and checksums page. Run it from the repository
// root after upstream publishes a release:
//
//	go run ./scripts/catalogue [-versions FILE] [-checksums FILE] [-out FILE]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/pypyctl/pypyctl/install/catalogue"
	"github.com/pypyctl/pypyctl/internal/fsutil"
)

func main() {
	versions := flag.String("versions", "../shared/pypy/upstream/versions.json", "pypy.org's versions.json")
	checksums := flag.String("checksums", "../shared/pypy/upstream/checksums.rst", "pypy.org's checksums page source")
	out := flag.String("out", "install/catalogue/upstream.json", "catalogue to write")
	flag.Parse()
	if err := run(*versions, *checksums, *out); err != nil {
		fmt.Fprintln(os.Stderr, "catalogue:", err)
		os.Exit(1)
	}
}

func run(versionsPath, checksumsPath, out string) error {
	v, err := os.Open(versionsPath)
	if err != nil {
		return err
	}
	defer v.Close()
	c, err := os.Open(checksumsPath)
	if err != nil {
		return err
	}
	defer c.Close()
	ix, err := catalogue.Generate(v, c)
	if err != nil {
		return fmt.Errorf("%s + %s: %w", versionsPath, checksumsPath, err)
	}
	var buf bytes.Buffer
	if err := catalogue.Encode(&buf, ix); err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	n, missing := 0, 0
	for _, r := range ix {
		for _, f := range r.Files {
			n++
			if f.SHA256 == "" {
				missing++
			}
		}
	}
	fmt.Printf("wrote %s: %d releases, %d files (%d without a published sha256)\n", out, len(ix), n, missing)
	return nil
}
