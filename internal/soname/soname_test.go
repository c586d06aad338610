package soname

import (
	"reflect"
	"testing"
)

func TestIsGlibc(t *testing.T) {
	tests := []struct {
		soname string
		want   bool
	}{
		{"libc.so.6", true}, {"libm.so.6", true}, {"ld-linux-x86-64.so.2", true},
		{"ld-linux-aarch64.so.1", true}, {"ld64.so.1", true}, {"libnss_files.so.2", true},
		{"libcrypt.so.1", false}, {"libgcc_s.so.1", false}, {"libffi.so.8", false},
	}
	for _, tt := range tests {
		if got := IsGlibc(tt.soname); got != tt.want {
			t.Errorf("IsGlibc(%s) = %v, want %v", tt.soname, got, tt.want)
		}
	}
}

func TestPackage(t *testing.T) {
	tests := []struct{ soname, want string }{
		{"libc.so.6", "libc6"}, {"ld-linux-aarch64.so.1", "libc6"}, {"ld64.so.1", "libc6"},
		{"libcrypto.so.3", "libssl3"}, {"libbz2.so.1.0", "libbz2-1.0"}, {"libz.so.1", "zlib1g"},
		{"libpanelw.so.6", "libncursesw6"}, {"libtk8.6.so", "libtk8.6"}, {"libfoo.so.1", ""},
	}
	for _, tt := range tests {
		got, ok := Package(tt.soname)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("Package(%s) = %q, %v; want %q", tt.soname, got, ok, tt.want)
		}
	}
}

func TestParseSearch(t *testing.T) {
	out := []byte(`libssl3:amd64: /usr/lib/x86_64-linux-gnu/libssl.so.3
diversion by foo from: /usr/lib/x86_64-linux-gnu/libz.so.1
local diversion from: /usr/lib/x86_64-linux-gnu/libz.so.1
libbz2-1.0: /lib/libbz2.so.1.0
libc6:amd64, libc6-dev:amd64: /lib/x86_64-linux-gnu/libc.so.6
not a path line
`)
	want := []Owner{
		{"/usr/lib/x86_64-linux-gnu/libssl.so.3", []string{"libssl3:amd64"}},
		{"/lib/libbz2.so.1.0", []string{"libbz2-1.0"}},
		{"/lib/x86_64-linux-gnu/libc.so.6", []string{"libc6:amd64", "libc6-dev:amd64"}},
	}
	if got := ParseSearch(out); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
