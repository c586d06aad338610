package smoke

import (
	"reflect"
	"testing"
)

func TestPackageNames(t *testing.T) {
	got := PackageNames([]string{"libc6 (>= 2.35)", "zlib1g (>= 1:1.2.0)", "libssl3", "a | b", "libc6", " libffi8(>= 3.4)"})
	want := []string{"a", "libc6", "libffi8", "libssl3", "zlib1g"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q", got)
	}
}
