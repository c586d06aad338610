package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json), build events
// included.
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string
}

// skip is one skipped test and why the allow-list expects it ("" when it
// does not).
type skip struct{ pkg, test, reason string }

type tally struct {
	allow                  []allowed
	passed, failed         int
	skips                  []skip
	pkgTested, pkgNoTests  int
	pkgFailed, buildFailed int
	events                 int
	// buffered output of running tests, printed only if they fail
	out map[string][]string
}

func newTally(allow []allowed) *tally { return &tally{allow: allow, out: map[string][]string{}} }

// read consumes events, writing what go test would print without -v.
func (t *tally) read(r io.Reader, w io.Writer) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			// go test prints some things (vet, setup failures) as plain text.
			fmt.Fprintf(w, "%s\n", line)
			continue
		}
		t.events++
		t.add(e, w)
	}
	return sc.Err()
}

func (t *tally) add(e event, w io.Writer) {
	key := e.Package + " " + e.Test
	switch e.Action {
	case "build-output":
		fmt.Fprint(w, e.Output)
	case "build-fail":
		t.buildFailed++
	case "output":
		if e.Test != "" {
			t.out[key] = append(t.out[key], e.Output)
			return
		}
		// Package lines: keep ok/FAIL/"no test files" and anything a
		// failing package printed, drop the -v chatter.
		if e.Output == "PASS\n" || strings.HasPrefix(e.Output, "=== ") {
			return
		}
		fmt.Fprint(w, e.Output)
	case "pass", "fail", "skip":
		if e.Test == "" {
			t.pkgDone(e)
			return
		}
		lines := t.out[key]
		delete(t.out, key)
		switch e.Action {
		case "pass":
			t.passed++
		case "fail":
			t.failed++
			for _, l := range lines {
				if !strings.HasPrefix(l, "=== ") {
					fmt.Fprint(w, l)
				}
			}
		case "skip":
			t.skips = append(t.skips, skip{e.Package, e.Test, t.expected(e.Package, e.Test)})
		}
	}
}

func (t *tally) pkgDone(e event) {
	switch e.Action {
	case "pass":
		t.pkgTested++
	case "fail":
		t.pkgTested++
		t.pkgFailed++
	case "skip":
		t.pkgNoTests++
	}
}

func (t *tally) expected(pkg, test string) string {
	for _, a := range t.allow {
		if (pkg == a.pkg || strings.HasSuffix(pkg, "/"+a.pkg)) && (test == a.test || strings.HasPrefix(test, a.test+"/")) {
			return a.reason
		}
	}
	return ""
}

func (t *tally) unexpected() []skip {
	var u []skip
	for _, s := range t.skips {
		if s.reason == "" {
			u = append(u, s)
		}
	}
	return u
}

// ok says whether the run passes: nothing failed, something ran, and in
// CI nothing skipped that the allow-list does not expect.
func (t *tally) ok(ci bool) bool {
	if t.failed > 0 || t.pkgFailed > 0 || t.buildFailed > 0 || t.events == 0 {
		return false
	}
	return !ci || len(t.unexpected()) == 0
}

func (t *tally) report(w io.Writer, ci bool) {
	sort.Slice(t.skips, func(i, j int) bool {
		return t.skips[i].pkg+" "+t.skips[i].test < t.skips[j].pkg+" "+t.skips[j].test
	})
	if ci {
		for _, s := range t.skips {
			if s.reason != "" {
				fmt.Fprintf(w, "skipped (expected: %s): %s %s\n", s.reason, s.pkg, s.test)
			} else {
				fmt.Fprintf(w, "UNEXPECTED SKIP: %s %s (fix the machine or add it to the allow-list with a reason)\n", s.pkg, s.test)
			}
		}
	} else if len(t.skips) > 0 {
		fmt.Fprintf(w, "%d tests skipped; PYPYCTL_CI=1 names them and fails on unexpected ones\n", len(t.skips))
	}
	if t.events == 0 {
		fmt.Fprintln(w, "no test events read: nothing was tested")
	}
	fmt.Fprintf(w, "packages: %d with tests, %d without, %d failed, %d did not build\n", t.pkgTested, t.pkgNoTests, t.pkgFailed, t.buildFailed)
	fmt.Fprintf(w, "summary: %d passed, %d failed, %d skipped\n", t.passed, t.failed, len(t.skips))
}

// allowed is one line of the allow-list: package (import path or its
// suffix), test name (a parent covers its subtests), reason.
type allowed struct{ pkg, test, reason string }

func loadAllow(path string) ([]allowed, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("allow-list %s not found (run from the module root or pass -allow)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("read allow-list: %w", err)
	}
	return parseAllow(path, string(b))
}

func parseAllow(name, s string) ([]allowed, error) {
	var out []allowed
	for i, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			return nil, fmt.Errorf("%s:%d: want PACKAGE TEST REASON, got %q", name, i+1, line)
		}
		out = append(out, allowed{f[0], f[1], strings.Join(f[2:], " ")})
	}
	return out, nil
}
