package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/internal/testenv"
	"github.com/pypyctl/pypyctl/publish/index"
)

// TestMain lets scripts run `pypyctl` as a real process: the test binary
// re-executes itself as cli.Main.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"pypyctl": func() {
			os.Exit(Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
		},
	})
}

// TestScripts runs the CLI scenarios in testdata/script.
func TestScripts(t *testing.T) {
	// The checked-in workflows, which `ci github` must reproduce.
	golden, err := filepath.Abs("../../ci/github")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			// Keep every directory pypyctl resolves inside the script's work dir.
			env.Setenv("PYPYCTL_HOME", env.WorkDir+"/pypyctl-home")
			env.Setenv("CI_GOLDEN", golden)
			// A free port for scripts that start `pypyctl serve`.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			env.Setenv("FREEPORT", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
			ln.Close()
			if d, ok := testenv.FindShared(); ok {
				env.Setenv("SHARED", d)
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":       cmdExits,
			"jsonget":     cmdJSONGet,
			"waitfor":     cmdWaitFor,
			"mkcatalogue": cmdMkCatalogue,
		},
	})
}

// cmdExits runs a program and checks its exact exit status, which `exec`
// and `! exec` cannot tell apart (1 failure vs 2 bad usage):
//
//	exits 2 pypyctl matrix validate --bogus
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits STATUS PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad status %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", strings.Join(args[1:], " "), got, want)
	}
}

// cmdWaitFor waits up to 10 s for a URL to answer (a server started in
// the background):
//
//	waitfor http://127.0.0.1:$FREEPORT/versions.json
func cmdWaitFor(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfor URL")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(args[0])
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("waitfor %s: %v", args[0], err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cmdMkCatalogue writes a catalogue override (versions.json format with
// sha256) listing archives the script made, under upstream's URLs:
//
//	mkcatalogue cat.json 7.3.23 3.11.15 mirror/pypy3.11-v7.3.23-linux64.tar.gz
func cmdMkCatalogue(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 4 {
		ts.Fatalf("usage: mkcatalogue OUT PYPY PYTHON ARCHIVE...")
	}
	v := index.Version{PyPyVersion: args[1], PythonVersion: args[2], Stable: true, LatestPyPy: true, Date: "2026-05-26"}
	for _, a := range args[3:] {
		sum, _, err := fsutil.SHA256File(ts.MkAbs(a))
		ts.Check(err)
		name := filepath.Base(a)
		an, ok := index.ParseArchiveName(name)
		if !ok {
			ts.Fatalf("mkcatalogue: %s is not an archive name", name)
		}
		p, _ := index.PlatformOfSuffix(an.Suffix)
		v.Files = append(v.Files, index.File{Filename: name, Arch: p.Arch, Platform: p.Platform,
			DownloadURL: "https://downloads.python.org/pypy/" + name, SHA256: sum})
	}
	var buf bytes.Buffer
	ts.Check(index.Index{v}.Encode(&buf))
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), buf.Bytes(), 0o644))
}

// cmdJSONGet reads JSON from a file (stdout and stderr name the last
// command's output) and compares the value at a path with want:
//
//	jsonget stdout .0.targets.# 2        # length of an array or object
//	jsonget stdout .include.1.emulated false
//
// Strings compare raw; other values as compact JSON.
func cmdJSONGet(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: jsonget FILE PATH WANT")
	}
	got, err := jsonGet([]byte(ts.ReadFile(args[0])), args[1])
	if err != nil {
		ts.Fatalf("jsonget %s: %v", args[1], err)
	}
	if (got == args[2]) == neg {
		if neg {
			ts.Fatalf("jsonget %s = %s, want anything else", args[1], got)
		}
		ts.Fatalf("jsonget %s = %s, want %s", args[1], got, args[2])
	}
}

// jsonGet walks a dotted path (keys, array indexes, # for a length) and
// renders the value found.
func jsonGet(data []byte, path string) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("not JSON: %w", err)
	}
	if dec.More() {
		return "", errors.New("more than one JSON value")
	}
	for _, p := range strings.Split(strings.TrimPrefix(path, "."), ".") {
		if p == "" {
			continue
		}
		switch x := v.(type) {
		case map[string]any:
			if p == "#" {
				v = json.Number(strconv.Itoa(len(x)))
				continue
			}
			val, ok := x[p]
			if !ok {
				return "", fmt.Errorf("no key %q", p)
			}
			v = val
		case []any:
			if p == "#" {
				v = json.Number(strconv.Itoa(len(x)))
				continue
			}
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				return "", fmt.Errorf("no index %q in an array of %d", p, len(x))
			}
			v = x[i]
		default:
			return "", fmt.Errorf("cannot index %T with %q", v, p)
		}
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

func TestJSONGet(t *testing.T) {
	doc := []byte(`{"a": [{"b": "x", "n": 3, "t": true}, {"b": null}], "o": {"k": 1, "l": 2}}`)
	tests := []struct {
		path, want string
		wantErr    bool
	}{
		{".a.#", "2", false},
		{".a.0.b", "x", false},
		{".a.0.n", "3", false},
		{".a.0.t", "true", false},
		{".a.1.b", "null", false},
		{".o.#", "2", false},
		{".o", `{"k":1,"l":2}`, false},
		{".a.2", "", true},
		{".nope", "", true},
		{".a.0.b.c", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			got, err := jsonGet(doc, tc.path)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("jsonGet(%s) = %q, %v; want %q, error %v", tc.path, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// A command whose issue has not landed says so and fails with status 1.
func TestStubCommand(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"runs", nil, 1},
		{"bad flag", []string{"--bogus"}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := stub("frobnicate", "Frobnicate", "  pypyctl frobnicate")
			wrapUsage(c)
			c.SetArgs(tc.args)
			var out bytes.Buffer
			c.SetOut(&out)
			c.SetErr(&out)
			c.SilenceUsage, c.SilenceErrors = true, true
			err := c.Execute()
			status := 0
			var ue usageError
			switch {
			case errors.As(err, &ue):
				status = 2
			case err != nil:
				status = 1
			}
			if status != tc.want {
				t.Fatalf("status %d (%v), want %d", status, err, tc.want)
			}
			if tc.want == 1 && !errors.Is(err, ErrNotImplemented) {
				t.Errorf("error %v does not say not implemented yet", err)
			}
		})
	}
}
