package bazel

import (
	"github.com/pypyctl/pypyctl/publish/index"
)

// target is one pypyctl target as Bazel sees it.
type target struct {
	Name    string         // pypyctl's target name: linux-amd64
	Pair    index.Platform // versions.json (arch, platform)
	OS, CPU string         // @platforms constraint values
	Windows bool           // interpreter at the archive's top, with .exe
}

// targets are the archives PyPy publishes. The constraint values are
// @platforms ones: Bazel 4.2.3 ships @platforms inside its install base
// (a local_repository in its default WORKSPACE suffix), so they resolve
// offline, and they are what newer Bazels use too. macOS arm64 is
// cpu:aarch64, the value Bazel's host platform detection gives it.
var targets = []target{
	{"linux-386", index.Platform{Arch: "i686", Platform: "linux"}, "linux", "x86_32", false},
	{"linux-amd64", index.Platform{Arch: "x64", Platform: "linux"}, "linux", "x86_64", false},
	{"linux-arm64", index.Platform{Arch: "aarch64", Platform: "linux"}, "linux", "aarch64", false},
	{"linux-s390x", index.Platform{Arch: "s390x", Platform: "linux"}, "linux", "s390x", false},
	{"macos-amd64", index.Platform{Arch: "x64", Platform: "darwin"}, "osx", "x86_64", false},
	{"macos-arm64", index.Platform{Arch: "arm64", Platform: "darwin"}, "osx", "aarch64", false},
	{"windows-386", index.Platform{Arch: "x86", Platform: "win32"}, "windows", "x86_32", true},
	{"windows-amd64", index.Platform{Arch: "x64", Platform: "win64"}, "windows", "x86_64", true},
}

func targetOfPair(p index.Platform) (target, bool) {
	for _, t := range targets {
		if t.Pair == p {
			return t, true
		}
	}
	return target{}, false
}

func targetNamed(name string) (target, bool) {
	for _, t := range targets {
		if t.Name == name {
			return t, true
		}
	}
	return target{}, false
}

// formats are the archive formats Bazel 4.2.3's http_archive extracts, in
// the order we prefer them when a release ships several (tar.zst is
// only understood by much newer Bazels).
var formats = []string{"tar.gz", "tar.xz", "zip", "tar.bz2"}

func formatRank(f string) int {
	for i, g := range formats {
		if g == f {
			return i
		}
	}
	return -1
}
