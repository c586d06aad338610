package ci

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/pypyctl/pypyctl/internal/testtool"
	"github.com/pypyctl/pypyctl/platforms"
)

var update = flag.Bool("update", false, "rewrite the checked-in workflows under ci/github/")

const goldenDir = "github"

func embedded(t *testing.T) *platforms.Matrix {
	t.Helper()
	m, err := platforms.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The checked-in workflows are exactly what the generator makes from the
// embedded matrix, one per release, and nothing else is in the folder.
func TestGoldenWorkflows(t *testing.T) {
	m := embedded(t)
	want := map[string]bool{}
	for i := range m.Releases {
		r := &m.Releases[i]
		name := WorkflowFile(r)
		want[name] = true
		got, err := GitHubWorkflow(m, r, GitHubOptions{})
		if err != nil {
			t.Fatal(err)
		}
		again, err := GitHubWorkflow(m, r, GitHubOptions{})
		if err != nil || !bytes.Equal(got, again) {
			t.Fatalf("%s: two generations differ (err %v)", r.Name, err)
		}
		path := filepath.Join(goldenDir, name)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		old, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./ci -update)", err)
		}
		if !bytes.Equal(old, got) {
			t.Errorf("%s is stale: run go test ./ci -update", path)
		}
	}
	entries, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !want[e.Name()] {
			t.Errorf("%s/%s is not generated from any release of the matrix", goldenDir, e.Name())
		}
	}
}

// workflow is the part of a GitHub Actions workflow the tests read.
type workflow struct {
	On   map[string]any    `yaml:"on"`
	Env  map[string]string `yaml:"env"`
	Jobs map[string]struct {
		RunsOn   string   `yaml:"runs-on"`
		Needs    []string `yaml:"needs"`
		Strategy struct {
			FailFast bool      `yaml:"fail-fast"`
			Matrix   JobMatrix `yaml:"matrix"`
		} `yaml:"strategy"`
		Steps []struct {
			Name string            `yaml:"name"`
			If   string            `yaml:"if"`
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]string `yaml:"with"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func parseWorkflow(t *testing.T, data []byte) workflow {
	t.Helper()
	var wf workflow
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(false)
	if err := dec.Decode(&wf); err != nil {
		t.Fatalf("workflow does not parse: %v\n%s", err, data)
	}
	return wf
}

// emulatedMatrix is the embedded matrix plus a release that ships the
// emulated s390x target.
func emulatedMatrix(t *testing.T) *platforms.Matrix {
	t.Helper()
	src := string(platforms.EmbeddedYAML()) + `
  - name: pypy3.11-v7.3.19
    pypy_version: 7.3.19
    python_version: 3.11.11
    date: "2025-02-26"
    source_date_epoch: 1740528000
    source: {git: {url: https://github.com/pypy/pypy, commit: 1111111111111111111111111111111111111111, tree: 2222222222222222222222222222222222222222}}
    vm: translate
    targets: [{name: linux-amd64}, {name: linux-s390x}]
`
	m, probs := platforms.ValidateYAML("emulated.yaml", []byte(src))
	if len(probs) > 0 {
		t.Fatalf("test matrix invalid: %v", probs)
	}
	return m
}

func TestWorkflowShape(t *testing.T) {
	tests := []struct {
		name, release, store string
		matrix               func(*testing.T) *platforms.Matrix
		wantEmulated         []string // targets that must run under qemu
		wantLogin            bool
	}{
		{name: "translated release", release: "pypy3.11-v7.3.20", matrix: embedded, wantLogin: true},
		{name: "default release, own registry", release: "", store: "oci://127.0.0.1:5000/pypy/store", matrix: embedded, wantLogin: true},
		{name: "emulated target", release: "pypy3.11-v7.3.19", matrix: emulatedMatrix, wantEmulated: []string{"linux-s390x"}, wantLogin: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.matrix(t)
			r, err := m.Release(tc.release)
			if err != nil {
				t.Fatal(err)
			}
			data, err := GitHubWorkflow(m, r, GitHubOptions{Store: tc.store})
			if err != nil {
				t.Fatal(err)
			}
			wf := parseWorkflow(t, data)
			build, ok := wf.Jobs["build"]
			if !ok {
				t.Fatal("no build job")
			}
			inc := build.Strategy.Matrix.Include
			if want := buildable(t, m, r); len(inc) != want {
				t.Fatalf("%d matrix entries, want one per buildable target (%d)", len(inc), want)
			}
			var emulated []string
			for i, j := range inc {
				tg, err := m.Target(r.Targets[i].Name)
				if err != nil {
					t.Fatal(err)
				}
				if j.Target != tg.Name || j.Runner != tg.Runner || j.Release != r.Name {
					t.Errorf("entry %d = %+v, want target %s on %s", i, j, tg.Name, tg.Runner)
				}
				if j.Emulated {
					emulated = append(emulated, j.Target)
				}
			}
			if strings.Join(emulated, ",") != strings.Join(tc.wantEmulated, ",") {
				t.Errorf("emulated = %v, want %v", emulated, tc.wantEmulated)
			}
			if build.RunsOn != "${{ matrix.runner }}" || build.Strategy.FailFast {
				t.Errorf("build runs-on %q, fail-fast %v", build.RunsOn, build.Strategy.FailFast)
			}
			var qemu, login bool
			var buildRun string
			for _, s := range build.Steps {
				switch {
				case strings.Contains(s.Run, "qemu-user-static"):
					qemu = s.If == "matrix.emulated"
				case strings.HasPrefix(s.Name, "Log in"):
					login = true
				case strings.HasPrefix(s.Run, "pypyctl build"):
					buildRun = s.Run
				}
			}
			if qemu != (len(tc.wantEmulated) > 0) {
				t.Errorf("qemu step present (if: matrix.emulated) = %v, want %v", qemu, len(tc.wantEmulated) > 0)
			}
			if login != tc.wantLogin {
				t.Errorf("login step = %v, want %v", login, tc.wantLogin)
			}
			if want := "pypyctl build --target ${{ matrix.target }} --release " + r.Name + ` --store "$PYPYCTL_STORE"`; strings.TrimSpace(buildRun) != want {
				t.Errorf("build step runs %q, want %q", buildRun, want)
			}
			store := tc.store
			if store == "" {
				store = DefaultStore
			}
			if wf.Env["PYPYCTL_STORE"] != store {
				t.Errorf("PYPYCTL_STORE = %q, want %q", wf.Env["PYPYCTL_STORE"], store)
			}
			merge, ok := wf.Jobs["merge"]
			if !ok {
				t.Fatal("no merge job")
			}
			if len(merge.Needs) != 1 || merge.Needs[0] != "build" {
				t.Errorf("merge needs %v, want [build]", merge.Needs)
			}
			var release bool
			for _, s := range merge.Steps {
				release = release || (s.Run == ReleaseScript(r.Name) && strings.Contains(s.Run, "pypyctl release --release "+r.Name+` --from-store "$PYPYCTL_STORE" --to public/ --sign --key `))
			}
			if !release {
				t.Error("merge job does not run pypyctl release --from-store")
			}
			if _, ok := wf.On["workflow_dispatch"]; !ok {
				t.Error("workflow cannot be started by hand (no workflow_dispatch)")
			}
		})
	}
}

func TestJobs(t *testing.T) {
	m := emulatedMatrix(t)
	tests := []struct {
		release string
		want    []Job
	}{
		{"pypy3.9-v7.3.11", []Job{
			{Target: "linux-amd64", Runner: "ubuntu-24.04", Release: "pypy3.9-v7.3.11"},
			{Target: "linux-arm64", Runner: "ubuntu-24.04-arm", Release: "pypy3.9-v7.3.11"},
		}},
		{"pypy3.11-v7.3.19", []Job{
			{Target: "linux-amd64", Runner: "ubuntu-24.04", Release: "pypy3.11-v7.3.19"},
			{Target: "linux-s390x", Runner: "ubuntu-24.04", Emulated: true, Release: "pypy3.11-v7.3.19"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.release, func(t *testing.T) {
			r, err := m.Release(tc.release)
			if err != nil {
				t.Fatal(err)
			}
			jm, err := Jobs(m, r)
			if err != nil {
				t.Fatal(err)
			}
			if len(jm.Include) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", jm.Include, tc.want)
			}
			for i := range tc.want {
				if jm.Include[i] != tc.want[i] {
					t.Errorf("job %d = %+v, want %+v", i, jm.Include[i], tc.want[i])
				}
			}
		})
	}
}

func TestCheckStore(t *testing.T) {
	tests := []struct {
		store string
		ok    bool
	}{
		{DefaultStore, true},
		{"oci://127.0.0.1:5000/pypy/store", true},
		{"oci://registry.example/a.b/c_d/e-f", true},
		{"registry.example/pypyctl/store", false},
		{"oci://registry.example", false},
		{"oci://registry.example/PyPy/store", false},
		{"oci://registry.example/pypy/store; rm -rf /", false},
		{"oci://registry.example/pypy/store\nx: y", false},
		{"${{ vars.MY_STORE }}", true},
		{"${{ secrets.MY_STORE }}", false},
		{"${{ vars.X }}; rm -rf /", false},
		{"", false},
	}
	for _, tc := range tests {
		t.Run(tc.store, func(t *testing.T) {
			if err := CheckStore(tc.store); (err == nil) != tc.ok {
				t.Errorf("CheckStore(%q) = %v, want ok=%v", tc.store, err, tc.ok)
			}
		})
	}
	m := embedded(t)
	r, _ := m.Release("")
	if _, err := GitHubWorkflow(m, r, GitHubOptions{Store: "http://x/y"}); err == nil {
		t.Error("GitHubWorkflow accepted a non-oci store")
	}
}

// actionlint (github.com/rhysd/actionlint) checks the checked-in
// workflows the way GitHub would read them: expressions, runner labels,
// and, when shellcheck is installed, the run scripts.
func TestActionlint(t *testing.T) {
	bin := testtool.Built(t, "actionlint", "scripts/tools/actionlint.sh")
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no workflows in %s (%v)", goldenDir, err)
	}
	// The emulated variant has the qemu step, which no checked-in file has.
	m := emulatedMatrix(t)
	r, err := m.Release("pypy3.11-v7.3.19")
	if err != nil {
		t.Fatal(err)
	}
	data, err := GitHubWorkflow(m, r, GitHubOptions{})
	if err != nil {
		t.Fatal(err)
	}
	extra := filepath.Join(t.TempDir(), "emulated.yml")
	if err := os.WriteFile(extra, data, 0o644); err != nil {
		t.Fatal(err)
	}
	files = append(files, extra)
	sort.Strings(files)
	out, err := exec.Command(bin, append([]string{"-no-color"}, files...)...).CombinedOutput()
	if err != nil {
		t.Errorf("actionlint: %v\n%s", err, out)
	}
}

// buildable counts the release's targets CI gets a job for (the matrix's
// not_buildable targets get none).
func buildable(t *testing.T, m *platforms.Matrix, r *platforms.Release) int {
	t.Helper()
	n := 0
	for _, rt := range r.Targets {
		tg, err := m.Target(rt.Name)
		if err != nil {
			t.Fatal(err)
		}
		if tg.NotBuildable == "" {
			n++
		}
	}
	return n
}
