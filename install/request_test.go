package install

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/publish/index"
)

func TestParseRequest(t *testing.T) {
	tests := []struct {
		in      string
		want    Request
		pin     string
		wantErr bool
	}{
		{in: "3.11", want: Request{Python: "3.11"}, pin: "pypy3.11"},
		{in: "pypy3.11", want: Request{Python: "3.11"}, pin: "pypy3.11"},
		{in: "pypy@3.11", want: Request{Python: "3.11"}, pin: "pypy3.11"},
		{in: "PyPy3.11", want: Request{Python: "3.11"}, pin: "pypy3.11"},
		{in: "3.9.16", want: Request{Python: "3.9.16"}, pin: "pypy3.9.16"},
		{in: "pypy3", want: Request{Python: "3"}, pin: "pypy3"},
		{in: "2.7", want: Request{Python: "2.7"}, pin: "pypy2.7"},
		{in: "3.11@7.3.20", want: Request{Python: "3.11", PyPy: "7.3.20"}, pin: "pypy3.11-7.3.20"},
		{in: "pypy3.9-7.3.11", want: Request{Python: "3.9", PyPy: "7.3.11"}, pin: "pypy3.9-7.3.11"},
		{in: "pypy3.11-v7.3.20", want: Request{Python: "3.11", PyPy: "7.3.20"}, pin: "pypy3.11-7.3.20"},
		{in: "3.10@7.3.12rc1", want: Request{Python: "3.10", PyPy: "7.3.12rc1"}, pin: "pypy3.10-7.3.12rc1"},
		{in: "latest", want: Request{}, pin: "pypy"},
		{in: "pypy@latest", want: Request{}, pin: "pypy"},
		{in: "pypy", want: Request{}, pin: "pypy"},
		{in: "3.11@latest", want: Request{Python: "3.11"}, pin: "pypy3.11"},
		{in: "nightly", want: Request{PyPy: "nightly"}, pin: "pypy@nightly"},
		{in: "3.11@nightly", want: Request{Python: "3.11", PyPy: "nightly"}, pin: "pypy3.11@nightly"},
		{in: "pypy3.11-v7.3.20-linux64.tar.bz2", want: Request{Filename: "pypy3.11-v7.3.20-linux64.tar.bz2", Python: "3.11", PyPy: "7.3.20"}, pin: "pypy3.11-7.3.20"},
		{in: "pypy3.9-v7.3.11-linux64", want: Request{Name: "pypy3.9-v7.3.11-linux64", Python: "3.9", PyPy: "7.3.11"}, pin: "pypy3.9-7.3.11"},
		{in: "pypy-3.11.13-linux-x86_64-gnu", want: Request{Python: "3.11.13"}, pin: "pypy3.11.13"},
		{in: "", wantErr: true},
		{in: "3.11rc1", wantErr: true},
		{in: "cpython@3.12", wantErr: true},
		{in: "system", wantErr: true},
		{in: "4.0", wantErr: true},
		{in: "3.11.1.1", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseRequest(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("ParseRequest(%q) = %+v, want error", tt.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseRequest(%q): %v", tt.in, err)
			continue
		}
		tt.want.Raw = tt.in
		if got != tt.want {
			t.Errorf("ParseRequest(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if p := got.PinString(); p != tt.pin {
			t.Errorf("ParseRequest(%q).PinString() = %q, want %q", tt.in, p, tt.pin)
		}
		// What pin writes reads back as the same request.
		back, err := ParseRequest(got.PinString())
		if err != nil || back.Python != got.Python || back.PyPy != got.PyPy {
			t.Errorf("pin %q reads back as %+v, %v", got.PinString(), back, err)
		}
	}
}

// fixtureIndex is a versions.json written from pypy.org's schema: 7.3.20
// for 3.11 and 2.7, an rc, an older stable 3.11 and 3.9, and nightlies.
const fixtureIndex = `[
  {"pypy_version": "7.3.21rc1", "python_version": "3.11.14", "stable": false, "latest_pypy": false, "date": "2025-09-01",
   "files": [{"filename": "pypy3.11-v7.3.21rc1-linux64.tar.bz2", "arch": "x64", "platform": "linux", "download_url": "https://downloads.python.org/pypy/pypy3.11-v7.3.21rc1-linux64.tar.bz2"}]},
  {"pypy_version": "7.3.20", "python_version": "3.11.13", "stable": true, "latest_pypy": true, "date": "2025-07-04",
   "files": [
    {"filename": "pypy3.11-v7.3.20-aarch64.tar.bz2", "arch": "aarch64", "platform": "linux", "download_url": "https://downloads.python.org/pypy/pypy3.11-v7.3.20-aarch64.tar.bz2", "sha256": "9347fe691a07fd9df17a1b186554fb9d9e6210178ffef19520a579ce1f9eb741"},
    {"filename": "pypy3.11-v7.3.20-linux32.tar.bz2", "arch": "i686", "platform": "linux", "download_url": "https://downloads.python.org/pypy/pypy3.11-v7.3.20-linux32.tar.bz2"},
    {"filename": "pypy3.11-v7.3.20-linux64.tar.bz2", "arch": "x64", "platform": "linux", "download_url": "https://downloads.python.org/pypy/pypy3.11-v7.3.20-linux64.tar.bz2", "sha256": "1410db3a7ae47603e2b7cbfd7ff6390b891b2e041c9eb4f1599f333677bccb3e"},
    {"filename": "pypy3.11-v7.3.20-macos_arm64.tar.bz2", "arch": "arm64", "platform": "darwin", "download_url": "https://downloads.python.org/pypy/pypy3.11-v7.3.20-macos_arm64.tar.bz2"},
    {"filename": "pypy3.11-v7.3.20-win64.zip", "arch": "x64", "platform": "win64", "download_url": "https://downloads.python.org/pypy/pypy3.11-v7.3.20-win64.zip"}
   ]},
  {"pypy_version": "7.3.20", "python_version": "2.7.18", "stable": true, "latest_pypy": true, "date": "2025-07-04",
   "files": [{"filename": "pypy2.7-v7.3.20-linux64.tar.bz2", "arch": "x64", "platform": "linux", "download_url": "https://downloads.python.org/pypy/pypy2.7-v7.3.20-linux64.tar.bz2"}]},
  {"pypy_version": "7.3.19", "python_version": "3.11.11", "stable": true, "latest_pypy": true, "date": "2025-02-26",
   "files": [{"filename": "pypy3.11-v7.3.19-linux64.tar.bz2", "arch": "x64", "platform": "linux", "download_url": "https://downloads.python.org/pypy/pypy3.11-v7.3.19-linux64.tar.bz2"}]},
  {"pypy_version": "7.3.12rc1", "python_version": "3.10.11", "stable": false, "latest_pypy": false, "date": "2023-05-28",
   "files": [{"filename": "pypy3.10-v7.3.12rc1-linux64.tar.bz2", "arch": "x64", "platform": "linux", "download_url": "https://downloads.python.org/pypy/pypy3.10-v7.3.12rc1-linux64.tar.bz2"}]},
  {"pypy_version": "7.3.11", "python_version": "3.9.16", "stable": true, "latest_pypy": true, "date": "2022-12-29",
   "files": [{"filename": "pypy3.9-v7.3.11-linux64.tar.bz2", "arch": "x64", "platform": "linux", "download_url": "https://downloads.python.org/pypy/pypy3.9-v7.3.11-linux64.tar.bz2"}]},
  {"pypy_version": "nightly", "python_version": "3.11", "stable": false, "latest_pypy": false,
   "files": [{"filename": "pypy-c-jit-latest-linux64.tar.bz2", "arch": "x64", "platform": "linux", "download_url": "https://buildbot.pypy.org/nightly/py3.11/pypy-c-jit-latest-linux64.tar.bz2"}]},
  {"pypy_version": "nightly", "python_version": "3.10", "stable": false, "latest_pypy": false,
   "files": [{"filename": "pypy-c-jit-latest-linux64.tar.bz2", "arch": "x64", "platform": "linux", "download_url": "https://buildbot.pypy.org/nightly/py3.10/pypy-c-jit-latest-linux64.tar.bz2"}]}
]`

func TestResolve(t *testing.T) {
	ix, err := index.Parse(strings.NewReader(fixtureIndex))
	if err != nil {
		t.Fatal(err)
	}
	x64 := index.Platform{Arch: "x64", Platform: "linux"}
	arm := index.Platform{Arch: "aarch64", Platform: "linux"}
	mac := index.Platform{Arch: "arm64", Platform: "darwin"}
	tests := []struct {
		req     string
		host    index.Platform
		file    string
		url     string
		wantErr string
	}{
		{"3.11", x64, "pypy3.11-v7.3.20-linux64.tar.bz2", "", ""},
		{"pypy3.11", arm, "pypy3.11-v7.3.20-aarch64.tar.bz2", "", ""},
		{"3.11", mac, "pypy3.11-v7.3.20-macos_arm64.tar.bz2", "", ""},
		{"3", x64, "pypy3.11-v7.3.20-linux64.tar.bz2", "", ""},
		{"latest", x64, "pypy3.11-v7.3.20-linux64.tar.bz2", "", ""},
		{"2.7", x64, "pypy2.7-v7.3.20-linux64.tar.bz2", "", ""},
		{"3.11.11", x64, "pypy3.11-v7.3.19-linux64.tar.bz2", "", ""},
		{"3.11@7.3.19", x64, "pypy3.11-v7.3.19-linux64.tar.bz2", "", ""},
		{"3.9", x64, "pypy3.9-v7.3.11-linux64.tar.bz2", "", ""},
		// rc and nightly only when asked for.
		{"3.11@7.3.21rc1", x64, "pypy3.11-v7.3.21rc1-linux64.tar.bz2", "", ""},
		{"3.10@7.3.12rc1", x64, "pypy3.10-v7.3.12rc1-linux64.tar.bz2", "", ""},
		{"3.10", x64, "", "", "no PyPy matching pypy3.10"},
		{"nightly", x64, "pypy-c-jit-latest-linux64.tar.bz2", "https://buildbot.pypy.org/nightly/py3.11/pypy-c-jit-latest-linux64.tar.bz2", ""},
		{"3.10@nightly", x64, "pypy-c-jit-latest-linux64.tar.bz2", "https://buildbot.pypy.org/nightly/py3.10/pypy-c-jit-latest-linux64.tar.bz2", ""},
		{"pypy3.11-v7.3.20-win64.zip", x64, "pypy3.11-v7.3.20-win64.zip", "", ""},
		{"pypy3.11-v7.3.20-aarch64", arm, "pypy3.11-v7.3.20-aarch64.tar.bz2", "", ""},
		{"3.9", arm, "", "", "3.11.13 (PyPy 7.3.20)"},
		{"3.12", x64, "", "", "stable ones for this platform: 3.11.13 (PyPy 7.3.20), 3.9.16 (PyPy 7.3.11), 2.7.18 (PyPy 7.3.20)"},
	}
	for _, tt := range tests {
		t.Run(tt.req+"/"+tt.host.String(), func(t *testing.T) {
			r, err := ParseRequest(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Resolve(ix, r, tt.host)
			if tt.wantErr != "" {
				var nm *NoMatchError
				if !errors.As(err, &nm) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want NoMatchError with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.File.Filename != tt.file {
				t.Errorf("file = %s, want %s", c.File.Filename, tt.file)
			}
			if tt.url != "" && c.File.DownloadURL != tt.url {
				t.Errorf("url = %s, want %s", c.File.DownloadURL, tt.url)
			}
		})
	}
}

func TestIndexURL(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "versions.json"), []byte("[]"), 0o644)
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"https://example.org/pypy/versions.json", "https://example.org/pypy/versions.json", false},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080/versions.json", false},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/versions.json", false},
		{"file://" + dir, "file://" + dir + "/versions.json", false},
		{dir, "file://" + dir + "/versions.json", false},
		{filepath.Join(dir, "versions.json"), "file://" + dir + "/versions.json", false},
		{"ftp://example.org/x.json", "", true},
		{"file://host/x.json", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		u, err := index.LocationURL(tt.in)
		if (err != nil) != tt.wantErr || (err == nil && u.String() != tt.want) {
			t.Errorf("LocationURL(%q) = %v, %v; want %s", tt.in, u, err, tt.want)
		}
	}
}

func TestResolveSourcesAndConfig(t *testing.T) {
	cfgDir := t.TempDir()
	os.WriteFile(ConfigFile(cfgDir), []byte("index: https://mirror.example.org/versions.json\nmirror: https://cfg.example.org/pypy/\n"), 0o644)
	cfg, err := LoadConfig(cfgDir)
	if err != nil {
		t.Fatal(err)
	}
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	off := false
	tests := []struct {
		name    string
		fl      SourceFlags
		env     func(string) string
		cfg     Config
		want    string // Kind:Location(From)[mirror] joined by " > "
		wantErr string
	}{
		{"flag wins", SourceFlags{Indexes: []string{"./public", "./other"}}, env(IndexEnv, "http://env/"), cfg,
			"index:./public(--index) > index:./other(--index) > upstream:embedded(default)[https://cfg.example.org/pypy]", ""},
		{"env next", SourceFlags{}, env(IndexEnv, "http://env/,http://env2/"), cfg,
			"index:http://env/($PYPYCTL_INDEX) > index:http://env2/($PYPYCTL_INDEX) > upstream:embedded(default)[https://cfg.example.org/pypy]", ""},
		{"config", SourceFlags{}, env(), cfg,
			"index:https://mirror.example.org/versions.json(config.yaml) > upstream:embedded(default)[https://cfg.example.org/pypy]", ""},
		{"fresh home: upstream only", SourceFlags{}, env(), Config{}, "upstream:embedded(default)", ""},
		{"mirror env and catalogue flag", SourceFlags{Catalogue: "cat.json"}, env(MirrorEnv, "http://127.0.0.1:1/m/"), Config{},
			"upstream:cat.json(--catalogue)[http://127.0.0.1:1/m]", ""},
		{"mirror flag beats env", SourceFlags{Mirror: "http://flag/"}, env(MirrorEnv, "http://env/"), Config{}, "upstream:embedded(default)[http://flag]", ""},
		{"no upstream", SourceFlags{Indexes: []string{"x"}, NoUpstream: true}, env(), Config{}, "index:x(--index)", ""},
		{"config turns upstream off", SourceFlags{}, env(), Config{Index: "x", Upstream: &off}, "index:x(config.yaml)", ""},
		{"nothing left", SourceFlags{NoUpstream: true}, env(), Config{}, "", "no source"},
		{"bad mirror", SourceFlags{Mirror: "downloads"}, env(), Config{}, "", "--mirror"},
		{"bad index scheme", SourceFlags{Indexes: []string{"ftp://x/"}}, env(), Config{}, "", "--index"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srcs, err := ResolveSources(tt.fl, tt.env, tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var parts []string
			for _, s := range srcs {
				p := s.Kind + ":" + s.Location + "(" + s.From + ")"
				if s.Mirror != "" {
					p += "[" + s.Mirror + "]"
				}
				parts = append(parts, p)
			}
			if got := strings.Join(parts, " > "); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestConfigPathsAreRelativeToConfigDir(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(ConfigFile(dir), []byte("index: public\nindexes: [/abs/ix, http://h/ix/]\ncatalogue: cat.json\n"), 0o644)
	c, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := ResolveSources(SourceFlags{}, nil, c)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "public"), "/abs/ix", "http://h/ix/", filepath.Join(dir, "cat.json")}
	if len(srcs) != len(want) {
		t.Fatalf("sources %+v", srcs)
	}
	for i, w := range want {
		if srcs[i].Location != w {
			t.Errorf("source %d = %s, want %s", i, srcs[i].Location, w)
		}
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"indx: typo\n", `line 1: unknown key "indx" (known keys: index, indexes, mirror, catalogue, upstream)`},
		{"index: [a, b]\n", `line 1: found a list where a string is expected`},
		{"upstream: maybe\n", `line 1: found text "maybe" where true or false is expected`},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		os.WriteFile(ConfigFile(dir), []byte(tt.yaml), 0o644)
		_, err := LoadConfig(dir)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "install.Config") {
			t.Errorf("%q: err = %v, want %q", tt.yaml, err, tt.want)
		}
	}
	if c, err := LoadConfig(t.TempDir()); err != nil || c.Index != "" {
		t.Errorf("missing config = %+v, %v", c, err)
	}
}
