// Command testsummary reads `go test -json` events, prints go test's usual
// closing output (the ok/FAIL package lines, the output of failed tests,
// build errors) and ends with one count:
//
//	packages: 40 with tests, 12 without
//	summary: 812 passed, 0 failed, 3 skipped
//
// In CI (PYPYCTL_CI=1 or CI=true) it names every skipped test and exits
// non-zero when one is not in the allow-list (-allow, default
// testdata/expected-skips.txt at the module root): a missing tool must not
// turn into a green run that tested nothing.
//
// Usage:
//
//	go test -json ./... | go run ./internal/cmd/testsummary [-save FILE] [-summary=false]
//	go run ./internal/cmd/testsummary -replay FILE...   # one summary over saved stages
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("testsummary", flag.ContinueOnError)
	fl.SetOutput(stderr)
	allowPath := fl.String("allow", "internal/cmd/testsummary/expected-skips.txt", "allow-list of expected skips")
	save := fl.String("save", "", "also write the events read to FILE (for -replay)")
	summary := fl.Bool("summary", true, "end with the count lines")
	replay := fl.Bool("replay", false, "read the saved event files named as arguments; print only the skips and the count")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	allow, err := loadAllow(*allowPath)
	if err != nil {
		fmt.Fprintf(stderr, "testsummary: %v\n", err)
		return 2
	}
	ci := os.Getenv("PYPYCTL_CI") == "1" || os.Getenv("CI") == "true"
	t := newTally(allow)
	if *replay {
		for _, p := range fl.Args() {
			f, err := os.Open(p)
			if err != nil {
				fmt.Fprintf(stderr, "testsummary: %v\n", err)
				return 2
			}
			err = t.read(f, io.Discard)
			f.Close()
			if err != nil {
				fmt.Fprintf(stderr, "testsummary: %s: %v\n", p, err)
				return 2
			}
		}
	} else {
		in := stdin
		if *save != "" {
			f, err := os.Create(*save)
			if err != nil {
				fmt.Fprintf(stderr, "testsummary: %v\n", err)
				return 2
			}
			defer f.Close()
			in = io.TeeReader(stdin, f)
		}
		if err := t.read(in, stdout); err != nil {
			fmt.Fprintf(stderr, "testsummary: %v\n", err)
			return 2
		}
	}
	ok := t.ok(ci)
	if *summary {
		t.report(stdout, ci)
	}
	if !ok {
		return 1
	}
	return 0
}
