package main

import (
	"bytes"
	"strings"
	"testing"
)

const pkg = "github.com/pypyctl/pypyctl/packaging/archive"

func ev(action, test, output string) string {
	return `{"Action":"` + action + `","Package":"` + pkg + `","Test":"` + test + `","Output":` + quote(output) + "}\n"
}

func quote(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `"`, `\"`), "\n", `\n`) + `"`
}

func TestTally(t *testing.T) {
	allow := []allowed{{"packaging/archive", "TestHelper", "child process"}}
	cases := []struct {
		name       string
		in         string
		ci         bool
		wantOK     bool
		wantOut    []string
		wantNotOut []string
	}{
		{name: "pass", wantOK: true,
			in:      ev("run", "TestA", "") + ev("output", "TestA", "=== RUN   TestA\n") + ev("pass", "TestA", "") + ev("output", "", "PASS\n") + ev("output", "", "ok  \t"+pkg+"\t0.1s\n") + ev("pass", "", ""),
			wantOut: []string{"ok  \t" + pkg, "summary: 1 passed, 0 failed, 0 skipped", "packages: 1 with tests"}, wantNotOut: []string{"=== RUN", "PASS\n"}},
		{name: "failure prints the test's output", wantOK: false,
			in:      ev("output", "TestB", "    x_test.go:3: boom\n") + ev("fail", "TestB", "") + ev("output", "", "FAIL\t"+pkg+"\t0.1s\n") + ev("fail", "", ""),
			wantOut: []string{"boom", "FAIL\t" + pkg, "summary: 0 passed, 1 failed, 0 skipped"}},
		{name: "unexpected skip fails in CI", ci: true, wantOK: false,
			in:      ev("skip", "TestZip", "") + ev("pass", "", ""),
			wantOut: []string{"UNEXPECTED SKIP: " + pkg + " TestZip", "summary: 0 passed, 0 failed, 1 skipped"}},
		{name: "unexpected skip passes outside CI", wantOK: true,
			in:      ev("skip", "TestZip", "") + ev("pass", "", ""),
			wantOut: []string{"1 tests skipped"}, wantNotOut: []string{"TestZip"}},
		{name: "allowed skip passes in CI", ci: true, wantOK: true,
			in:      ev("skip", "TestHelper", "") + ev("pass", "", ""),
			wantOut: []string{"skipped (expected: child process)"}},
		{name: "no events is a failure", wantOK: false, in: "",
			wantOut: []string{"nothing was tested", "summary: 0 passed, 0 failed, 0 skipped"}},
		{name: "build failure", wantOK: false,
			in:      `{"ImportPath":"x","Action":"build-output","Output":"x.go:1: syntax error\n"}` + "\n" + `{"ImportPath":"x","Action":"build-fail"}` + "\n",
			wantOut: []string{"syntax error", "1 did not build"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tl := newTally(allow)
			var out bytes.Buffer
			if err := tl.read(strings.NewReader(c.in), &out); err != nil {
				t.Fatal(err)
			}
			if got := tl.ok(c.ci); got != c.wantOK {
				t.Errorf("ok = %v, want %v", got, c.wantOK)
			}
			tl.report(&out, c.ci)
			for _, w := range c.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range c.wantNotOut {
				if strings.Contains(out.String(), w) {
					t.Errorf("output has %q:\n%s", w, out.String())
				}
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, "summary: ") {
				t.Errorf("last line %q is not the summary", last)
			}
		})
	}
}

func TestParseAllow(t *testing.T) {
	cases := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{in: "# comment\n\npkg TestA a reason here\n", want: 1},
		{in: "pkg TestA\n", wantErr: true}, // a skip without a reason
	}
	for _, c := range cases {
		got, err := parseAllow("list", c.in)
		if (err != nil) != c.wantErr || len(got) != c.want {
			t.Errorf("parseAllow(%q) = %v, %v", c.in, got, err)
		}
	}
}
