package translator

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/translator/builder"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// goldenPlan is the dry-run plan of one target on a pinned machine: Linux
// amd64 with 4 CPUs, a PyPy2.7 at a fixed path, and an empty store.
func goldenPlan(t *testing.T, target string) *Plan {
	t.Helper()
	r, tg := matrixFor(t, testRelease, target)
	m := fakeMachine("linux", "amd64", "/opt/pypy2.7-v7.3.20-linux64/bin/pypy", pypyProbe)
	req := Request{
		Release: r, Target: tg, Machine: m, WorkRoot: "/var/cache/pypyctl/work",
		Sources: &Sources{Store: newStore(t)},
	}
	p, err := NewPlan(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkGoldenPlan compares a plan's JSON with its golden file (-update
// rewrites it).
func checkGoldenPlan(t *testing.T, p *Plan, path string) {
	t.Helper()
	got, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		writeFile(t, path, string(got), 0o644)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./translator -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("plan differs from %s (run go test ./translator -update if the change is intended):\n%s", path, got)
	}
}

// TestGoldenImagePlans pins what a dry run plans for the matrix's image
// targets: the image's pins and key come from the embedded lock, nothing
// is made, and the host is the image's PyPy.
func TestGoldenImagePlans(t *testing.T) {
	for _, target := range []string{"linux-amd64", "linux-arm64"} {
		t.Run(target, func(t *testing.T) {
			p := imagePlan(t, target, fakeMachine("linux", "amd64", "", ""))
			if p.Image == nil || p.Command[0] != "/usr/bin/pypy" || p.Wrapper[0] != "bwrap" || !slices.Contains(p.Wrapper, ImageVar) {
				t.Fatalf("image plan: image %+v command %v wrapper %v", p.Image, p.Command, p.Wrapper)
			}
			checkGoldenPlan(t, p, filepath.Join("testdata", "golden", target+"-image.json"))
		})
	}
}

// imagePlan is the dry-run plan of a matrix target that builds in a
// builder image, on machine m: the image's pins come from the embedded
// lock and nothing is made.
func imagePlan(t *testing.T, target string, m *Machine) *Plan {
	t.Helper()
	mx, err := platforms.Load("")
	if err != nil {
		t.Fatal(err)
	}
	r, _ := mx.Release(testRelease)
	tg, _ := mx.Target(target)
	if !IsImageBuilder(tg.Builder) {
		t.Fatalf("matrix target %s builds with %q, not a builder image", target, tg.Builder)
	}
	req := Request{Release: r, Target: tg, Machine: m,
		WorkRoot: "/var/cache/pypyctl/work", Sources: &Sources{Store: newStore(t)}}
	if _, err := req.UseImage(context.Background(), builder.Config{Store: newStore(t), Mirror: "http://mirror.invalid/debian"}, true); err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGoldenDryRunPlans(t *testing.T) {
	m, err := platforms.Load("")
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.Release(testRelease)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Targets) == 0 {
		t.Fatal("release has no targets")
	}
	for _, rt := range r.Targets {
		t.Run(rt.Name, func(t *testing.T) {
			p := goldenPlan(t, rt.Name)
			checkGoldenPlan(t, p, filepath.Join("testdata", "golden", rt.Name+".json"))
		})
	}
}

// TestGoldenPlanFacts checks the goldens' key facts directly, so a wrong
// golden cannot be regenerated into acceptance unnoticed.
func TestGoldenPlanFacts(t *testing.T) {
	cases := []struct {
		target    string
		outputs   []string
		args      []string // must appear in the command
		noArgs    []string // must not
		problems  []string // preflight checks expected
		dirSuffix string
	}{
		{"linux-amd64", []string{"vm/pypy3.11-c", "vm/libpypy3.11-c.so", "include"},
			[]string{"--batch", "--opt=jit", "--gc=incminimark", "--shared", "--make-jobs=4", "targetpypystandalone"}, []string{"--lto"}, nil, ""},
		{"linux-arm64", []string{"vm/pypy3.11-c", "vm/libpypy3.11-c.so", "include"},
			[]string{"--shared"}, []string{"--lto"}, []string{"platform", "host-python"}, ""},
		{"linux-386", []string{"vm/pypy3.11-c", "vm/libpypy3.11-c.so", "include"},
			[]string{"--shared"}, []string{"--lto"}, []string{"host-python"}, ""},
		{"macos-arm64", []string{"vm/pypy3.11-c", "vm/libpypy3.11-c.dylib", "include"}, []string{"--shared"}, nil, []string{"platform", "host-python"}, ""},
		{"windows-amd64", []string{"vm/pypy3.11-c.exe", "include"}, []string{"--no-shared"}, []string{"--shared"}, []string{"platform"}, ""},
	}
	for _, c := range cases {
		t.Run(c.target, func(t *testing.T) {
			p := goldenPlan(t, c.target)
			var outs []string
			for _, o := range p.Outputs {
				outs = append(outs, o.Name)
			}
			if !slices.Equal(outs, c.outputs) {
				t.Errorf("outputs %v, want %v", outs, c.outputs)
			}
			if p.Command[0] != "/opt/pypy2.7-v7.3.20-linux64/bin/pypy" || p.Command[1] != "../../rpython/bin/rpython" || p.Dir != "pypy/goal" {
				t.Errorf("command %v in %s", p.Command, p.Dir)
			}
			for _, a := range c.args {
				if !slices.Contains(p.Command, a) {
					t.Errorf("command %v lacks %s", p.Command, a)
				}
			}
			for _, a := range c.noArgs {
				if slices.Contains(p.Command, a) {
					t.Errorf("command %v has %s", p.Command, a)
				}
			}
			var checks []string
			for _, pr := range p.Preflight {
				checks = append(checks, pr.Check)
			}
			if !slices.Equal(checks, c.problems) {
				t.Errorf("preflight checks %v, want %v: %+v", checks, c.problems, p.Preflight)
			}
			if !p.KeyProvisional || p.Source.Fetched || len(p.Key) != 64 {
				t.Errorf("key %q provisional=%v fetched=%v", p.Key, p.KeyProvisional, p.Source.Fetched)
			}
			env := map[string]string{}
			for _, e := range p.Env {
				env[e.Name] = e.Value
			}
			if env["SOURCE_DATE_EPOCH"] != "1751587200" || env["PYTHONHASHSEED"] != "0" || env["HOME"] != "$WORK/home" {
				t.Errorf("env %v", env)
			}
		})
	}
}

func TestKeyDependsOnWhatChangesTheOutput(t *testing.T) {
	base := func(t *testing.T) (Request, *Machine) {
		r, tg := matrixFor(t, testRelease, "linux-amd64")
		m := fakeMachine("linux", "amd64", "/opt/pypy/bin/pypy", pypyProbe)
		return Request{Release: r, Target: tg, Machine: m, Sources: &Sources{Store: newStore(t)}}, m
	}
	cases := []struct {
		name   string
		mutate func(t *testing.T, req *Request, m *Machine)
		same   bool
	}{
		{"nothing", func(*testing.T, *Request, *Machine) {}, true},
		{"host path", func(t *testing.T, req *Request, m *Machine) {
			*m = *fakeMachine("linux", "amd64", "/elsewhere/pypy", pypyProbe)
		}, true},
		{"cpu count (make jobs)", func(t *testing.T, req *Request, m *Machine) { m.CPUs = 64 }, true},
		{"builder", func(t *testing.T, req *Request, m *Machine) { req.Builder = BuilderBwrap }, true},
		{"timeout", func(t *testing.T, req *Request, m *Machine) { req.Timeout = 1 }, true},
		{"host version", func(t *testing.T, req *Request, m *Machine) {
			*m = *fakeMachine("linux", "amd64", "/opt/pypy/bin/pypy", strings.Replace(pypyProbe, "pypy=7.3.20", "pypy=7.3.19", 1))
		}, false},
		{"host cffi", func(t *testing.T, req *Request, m *Machine) {
			*m = *fakeMachine("linux", "amd64", "/opt/pypy/bin/pypy", strings.Replace(pypyProbe, "cffi=1.17.1", "cffi=1.16.0", 1))
		}, false},
		{"lto toggled", func(t *testing.T, req *Request, m *Machine) {
			tg := *req.Target
			tg.Translation.LTO = !tg.Translation.LTO
			req.Target = &tg
		}, false},
		{"cflags", func(t *testing.T, req *Request, m *Machine) {
			tg := *req.Target
			tg.Translation.CFlags = "-O1"
			req.Target = &tg
		}, false},
		{"target option", func(t *testing.T, req *Request, m *Machine) {
			tg := *req.Target
			tg.Translation.TargetOptions = []string{"--withoutmod-_cppyy"}
			req.Target = &tg
		}, false},
		{"source pin", func(t *testing.T, req *Request, m *Machine) {
			r := *req.Release
			r.Source.Git = &platforms.GitSource{URL: r.Source.Git.URL, Tag: "release-pypy3.11-v7.3.19"}
			req.Release = &r
		}, false},
		{"source date epoch", func(t *testing.T, req *Request, m *Machine) {
			r := *req.Release
			r.SourceDateEpoch++
			req.Release = &r
		}, false},
		{"pass-env value", func(t *testing.T, req *Request, m *Machine) {
			req.PassEnv = []string{"PYPY_LOCALBASE"}
			m.Getenv = func(k string) string { return map[string]string{"PATH": "/usr/bin", "PYPY_LOCALBASE": "/opt/deps"}[k] }
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, m := base(t)
			req.Machine = m
			p0, err := NewPlan(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			req2, m2 := base(t)
			req2.Machine = m2
			c.mutate(t, &req2, m2)
			p1, err := NewPlan(context.Background(), req2)
			if err != nil {
				t.Fatal(err)
			}
			if (p0.Key == p1.Key) != c.same {
				t.Errorf("same key = %v, want %v", p0.Key == p1.Key, c.same)
			}
		})
	}
}

func TestRPythonArgs(t *testing.T) {
	cases := []struct {
		name string
		tr   platforms.Translation
		jobs int
		want string
	}{
		{"defaults", platforms.Translation{Opt: "jit", GC: "incminimark", Shared: true}, 2,
			"../../rpython/bin/rpython --batch --opt=jit --gc=incminimark --shared --make-jobs=2 targetpypystandalone"},
		{"not shared, lto", platforms.Translation{Opt: "jit", LTO: true}, 0,
			"../../rpython/bin/rpython --batch --opt=jit --no-shared --lto targetpypystandalone"},
		{"options before and after the target", platforms.Translation{Opt: "2", Shared: true,
			RPythonOptions: []string{"--continuation"}, TargetOptions: []string{"--withoutmod-micronumpy"}}, 8,
			"../../rpython/bin/rpython --batch --opt=2 --shared --make-jobs=8 --continuation targetpypystandalone --withoutmod-micronumpy"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := strings.Join(rpythonArgs(c.tr, c.jobs), " "); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestExpectedOutputs(t *testing.T) {
	cases := []struct {
		release, os string
		shared      bool
		want        []string // name<-from
	}{
		{"3.11.13", "linux", true, []string{"vm/pypy3.11-c<-pypy/goal/pypy3.11-c", "vm/libpypy3.11-c.so<-pypy/goal/libpypy3.11-c.so", "include<-include"}},
		{"3.11.13", "linux", false, []string{"vm/pypy3.11-c<-pypy/goal/pypy3.11-c", "include<-include"}},
		{"2.7.18", "linux", true, []string{"vm/pypy-c<-pypy/goal/pypy-c", "vm/libpypy-c.so<-pypy/goal/libpypy-c.so", "include<-include"}},
		{"3.11.13", "darwin", true, []string{"vm/pypy3.11-c<-pypy/goal/pypy3.11-c", "vm/libpypy3.11-c.dylib<-pypy/goal/libpypy3.11-c.dylib", "include<-include"}},
		{"3.11.13", "windows", true, []string{"vm/pypy3.11-c.exe<-pypy/goal/pypy3.11-c.exe", "vm/pypy3.11-cw.exe<-pypy/goal/pypy3.11-cw.exe",
			"vm/libpypy3.11-c.dll<-pypy/goal/libpypy3.11-c.dll", "vm/libs/python311.lib<-libs/python311.lib", "include<-include"}},
		{"2.7.18", "windows", true, []string{"vm/pypy-c.exe<-pypy/goal/pypy-c.exe", "vm/pypy-cw.exe<-pypy/goal/pypy-cw.exe",
			"vm/libpypy-c.dll<-pypy/goal/libpypy-c.dll", "vm/libs/python27.lib<-libs/python27.lib", "include<-include"}},
		{"3.11.13", "windows", false, []string{"vm/pypy3.11-c.exe<-pypy/goal/pypy3.11-c.exe", "include<-include"}},
	}
	for _, c := range cases {
		t.Run(c.release+"-"+c.os, func(t *testing.T) {
			r := &platforms.Release{PythonVersion: c.release}
			tg := &platforms.Target{OS: c.os, Translation: platforms.Translation{Shared: c.shared}}
			var got []string
			for _, o := range expectedOutputs(r, tg) {
				got = append(got, o.Name+"<-"+o.From)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got %v\nwant %v", got, c.want)
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(req *Request)
		want   string
	}{
		{"unknown builder", func(req *Request) { req.Builder = "docker" }, "unknown builder"},
		{"image builder without an image", func(req *Request) { req.Builder = "image:debian" }, "no builder image selected"},
		{"rpython target outside the tree", func(req *Request) { req.RPythonTarget = "../x/target.py" }, "inside the source tree"},
		{"rpython target not a target", func(req *Request) { req.RPythonTarget = "rpython/bin/rpython" }, "inside the source tree"},
		{"pass-env bad name", func(req *Request) { req.PassEnv = []string{"A=B"} }, "not a variable name"},
		{"pass-env managed", func(req *Request) { req.PassEnv = []string{"HOME"} }, "the plan sets HOME"},
		{"target not shipped", func(req *Request) {
			_, tg := matrixFor(t, testRelease, "linux-s390x")
			req.Target = tg
		}, "does not ship target linux-s390x"},
		{"missing source dir", func(req *Request) { req.SourceDir = filepath.Join(t.TempDir(), "nope") }, "not a directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, tg := matrixFor(t, testRelease, "linux-amd64")
			req := Request{Release: r, Target: tg, Machine: fakeMachine("linux", "amd64", "/p/pypy", pypyProbe), Sources: &Sources{Store: newStore(t)}}
			c.mutate(&req)
			_, err := NewPlan(context.Background(), req)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

func TestPassEnvStaysOutOfThePrintedPlan(t *testing.T) {
	r, tg := matrixFor(t, testRelease, "linux-amd64")
	m := fakeMachine("linux", "amd64", "/p/pypy", pypyProbe)
	m.Getenv = func(k string) string {
		return map[string]string{"PATH": "/usr/bin", "SECRET_TOKEN": "hunter2"}[k]
	}
	p, err := NewPlan(context.Background(), Request{Release: r, Target: tg, Machine: m,
		Sources: &Sources{Store: newStore(t)}, PassEnv: []string{"SECRET_TOKEN", "UNSET_ONE"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p)
	if bytes.Contains(b, []byte("hunter2")) {
		t.Fatalf("plan prints a passed value: %s", b)
	}
	if !bytes.Contains(b, []byte(`"name":"SECRET_TOKEN"`)) || !bytes.Contains(b, []byte("UNSET_ONE: not set")) {
		t.Fatalf("plan does not say what is passed: %s", b)
	}
	env := p.runEnv("/w", m.Getenv)
	if !slices.Contains(env, "SECRET_TOKEN=hunter2") || slices.ContainsFunc(env, func(s string) bool { return strings.HasPrefix(s, "UNSET_ONE=") }) {
		t.Fatalf("run env %v", env)
	}
}
