package ci

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const gitlabGoldenDir = "gitlab"

// pipeline is the part of a GitLab CI file the tests read.
type pipeline struct {
	Stages    []string          `yaml:"stages"`
	Variables map[string]string `yaml:"variables"`
	Build     struct {
		Stage    string   `yaml:"stage"`
		Tags     []string `yaml:"tags"`
		Parallel struct {
			Matrix []map[string]string `yaml:"matrix"`
		} `yaml:"parallel"`
		Script []string `yaml:"script"`
	} `yaml:"build"`
	Release struct {
		Stage     string   `yaml:"stage"`
		Needs     []string `yaml:"needs"`
		Script    []string `yaml:"script"`
		Artifacts struct {
			Paths []string `yaml:"paths"`
		} `yaml:"artifacts"`
	} `yaml:"release"`
}

func TestGitLabPipeline(t *testing.T) {
	tests := []struct {
		name, release, store string
		wantEmulated         []string
	}{
		{name: "default release, store variable", release: ""},
		{name: "translated release, own registry", release: "pypy3.11-v7.3.20", store: "oci://127.0.0.1:5000/pypy/store"},
		{name: "emulated target", release: "pypy3.11-v7.3.19", wantEmulated: []string{"linux-s390x"}},
	}
	m := emulatedMatrix(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := m.Release(tc.release)
			if err != nil {
				t.Fatal(err)
			}
			data, err := GitLabPipeline(m, r, GitLabOptions{Store: tc.store})
			if err != nil {
				t.Fatal(err)
			}
			var p pipeline
			dec := yaml.NewDecoder(bytes.NewReader(data))
			if err := dec.Decode(&p); err != nil {
				t.Fatalf("pipeline does not parse: %v\n%s", err, data)
			}
			if strings.Join(p.Stages, ",") != "build,release" || p.Build.Stage != "build" || p.Release.Stage != "release" {
				t.Errorf("stages %v, build in %q, release in %q", p.Stages, p.Build.Stage, p.Release.Stage)
			}
			mx := p.Build.Parallel.Matrix
			if want := buildable(t, m, r); len(mx) != want {
				t.Fatalf("%d matrix entries, want one per buildable target (%d)", len(mx), want)
			}
			var emulated []string
			for i, e := range mx {
				tg, err := m.Target(r.Targets[i].Name)
				if err != nil {
					t.Fatal(err)
				}
				if e["TARGET"] != tg.Name || e["RUNNER"] != tg.Runner {
					t.Errorf("entry %d = %v, want %s on %s", i, e, tg.Name, tg.Runner)
				}
				if e["EMULATED"] == "true" {
					emulated = append(emulated, e["TARGET"])
				}
			}
			if strings.Join(emulated, ",") != strings.Join(tc.wantEmulated, ",") {
				t.Errorf("emulated = %v, want %v", emulated, tc.wantEmulated)
			}
			if len(p.Build.Tags) != 1 || p.Build.Tags[0] != "$RUNNER" {
				t.Errorf("build tags %v, want [$RUNNER]", p.Build.Tags)
			}
			if !strings.Contains(strings.Join(p.Build.Script, "\n"), `pypyctl build --target "$TARGET" --release `+r.Name+` --store "$PYPYCTL_STORE"`) {
				t.Errorf("build script %q does not build the target into the store", p.Build.Script)
			}
			if len(p.Release.Needs) != 1 || p.Release.Needs[0] != "build" {
				t.Errorf("release needs %v, want [build]", p.Release.Needs)
			}
			if want := `pypyctl release --release ` + r.Name + ` --from-store "$PYPYCTL_STORE" --to public/ --sign --key "$PYPYCTL_SIGNING_KEY"`; len(p.Release.Script) != 1 || p.Release.Script[0] != want {
				t.Errorf("release script %q, want %q", p.Release.Script, want)
			}
			if p.Variables["PYPYCTL_STORE"] != tc.store {
				t.Errorf("PYPYCTL_STORE variable = %q, want %q", p.Variables["PYPYCTL_STORE"], tc.store)
			}
		})
	}
	r, _ := m.Release("")
	for _, bad := range []string{"${{ vars.PYPYCTL_STORE }}", "http://x/y"} {
		if _, err := GitLabPipeline(m, r, GitLabOptions{Store: bad}); err == nil {
			t.Errorf("GitLabPipeline accepted store %q", bad)
		}
	}
}

// The checked-in pipelines are what the generator makes from the embedded
// matrix, one per release.
func TestGoldenGitLabPipelines(t *testing.T) {
	m := embedded(t)
	want := map[string]bool{}
	for i := range m.Releases {
		r := &m.Releases[i]
		name := GitLabFile(r)
		want[name] = true
		got, err := GitLabPipeline(m, r, GitLabOptions{})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(gitlabGoldenDir, name)
		if *update {
			if err := os.MkdirAll(gitlabGoldenDir, 0o755); err != nil {
				t.Fatal(err)
			}
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
	entries, err := os.ReadDir(gitlabGoldenDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !want[e.Name()] {
			t.Errorf("%s/%s is not generated from any release of the matrix", gitlabGoldenDir, e.Name())
		}
	}
}
