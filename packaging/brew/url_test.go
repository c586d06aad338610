package brew

import "testing"

func TestAbsoluteURL(t *testing.T) {
	tests := []struct{ index, dl, want string }{
		{"https://dl.example.org/pypy/versions.json", "pypy3.11-v7.3.20/a.tar.gz", "https://dl.example.org/pypy/pypy3.11-v7.3.20/a.tar.gz"},
		{"https://dl.example.org/pypy/", "pypy3.11-v7.3.20/a.tar.gz", "https://dl.example.org/pypy/pypy3.11-v7.3.20/a.tar.gz"},
		{"https://dl.example.org/pypy/versions.json", "https://mirror.example.org/a.tar.gz", "https://mirror.example.org/a.tar.gz"},
		{"/srv/public/versions.json", "r/a.tar.gz", "file:///srv/public/r/a.tar.gz"},
	}
	for _, tt := range tests {
		got, err := absoluteURL(tt.index, tt.dl)
		if err != nil || got != tt.want {
			t.Errorf("absoluteURL(%s, %s) = %s, %v; want %s", tt.index, tt.dl, got, err, tt.want)
		}
	}
}
