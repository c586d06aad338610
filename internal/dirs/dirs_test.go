package dirs

import (
	"testing"
)

func TestResolve(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Dirs
		wantErr bool
	}{
		{"home only", map[string]string{"HOME": "/h"}, Dirs{"/h/.local/share/pypyctl", "/h/.cache/pypyctl", "/h/.config/pypyctl"}, false},
		{"xdg", map[string]string{"HOME": "/h", "XDG_DATA_HOME": "/d", "XDG_CACHE_HOME": "/c", "XDG_CONFIG_HOME": "/f"}, Dirs{"/d/pypyctl", "/c/pypyctl", "/f/pypyctl"}, false},
		{"relative xdg ignored", map[string]string{"HOME": "/h", "XDG_CACHE_HOME": "rel"}, Dirs{"/h/.local/share/pypyctl", "/h/.cache/pypyctl", "/h/.config/pypyctl"}, false},
		{"pypyctl home wins", map[string]string{"HOME": "/h", "XDG_DATA_HOME": "/d", "PYPYCTL_HOME": "/p"}, Dirs{"/p/data", "/p/cache", "/p/config"}, false},
		{"nothing set", map[string]string{}, Dirs{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Resolve(func(k string) string { return tc.env[k] })
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if !tc.wantErr && got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
