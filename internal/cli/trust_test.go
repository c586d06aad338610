package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs pypyctl in-process with env as its whole environment.
func trustCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string { return env[k] }
	code = Main(context.Background(), args, strings.NewReader(""), &out, &errb, getenv)
	return code, out.String(), errb.String()
}

func TestTrustCommands(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"PYPYCTL_KEY_PASSWORD": "pw", "HOME": dir}
	keysDir := filepath.Join(dir, "keys")
	if code, _, errOut := trustCLI(t, env, "keys", "generate", "--out", keysDir); code != 0 {
		t.Fatalf("keys generate: %d %s", code, errOut)
	}
	key, pub := filepath.Join(keysDir, "pypyctl.key"), filepath.Join(keysDir, "pypyctl.pub")
	archive := filepath.Join(dir, "pypy3.9-v7.3.11-linux64.tar.bz2")
	os.WriteFile(archive, []byte("archive bytes"), 0o644)
	sum := sha256.Sum256([]byte("archive bytes"))
	sums := filepath.Join(dir, "SHA256SUMS")
	os.WriteFile(sums, []byte(hex.EncodeToString(sum[:])+"  pypy3.9-v7.3.11-linux64.tar.bz2\n"), 0o644)

	code, out, errOut := trustCLI(t, env, "sign", archive, sums, "--key", key, "--json")
	if code != 0 {
		t.Fatalf("sign: %d %s", code, errOut)
	}
	var signed struct {
		KeyID  string `json:"key_id"`
		Signed []struct{ File, Signature, Bundle string }
	}
	if err := json.Unmarshal([]byte(out), &signed); err != nil || len(signed.Signed) != 2 || signed.KeyID == "" {
		t.Fatalf("sign --json output %q: %v", out, err)
	}
	for _, s := range signed.Signed {
		for _, f := range []string{s.Signature, s.Bundle} {
			if _, err := os.Stat(f); err != nil {
				t.Errorf("sign did not write %s", f)
			}
		}
	}

	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		setup    func()
		wantCode int
		wantOut  string // substring of stdout
		wantErr  string // substring of stderr
	}{
		{name: "verify ok", args: []string{"verify", archive, "--key", pub}, wantCode: 0, wantOut: "ok   " + archive},
		{name: "verify json", args: []string{"verify", archive, "--key", pub, "--json"}, wantCode: 0, wantOut: `"ok": true`},
		{name: "verify needs --key", args: []string{"verify", archive}, wantCode: 2, wantErr: "--key is required"},
		{name: "sign needs --key", args: []string{"sign", archive}, wantCode: 2, wantErr: "--key is required"},
		{name: "keys generate needs --out", args: []string{"keys", "generate"}, wantCode: 2, wantErr: "--out is required"},
		{name: "keys generate keeps existing keys", args: []string{"keys", "generate", "--out", keysDir}, wantCode: 1, wantErr: "already exists"},
		{name: "sign without password", env: map[string]string{}, args: []string{"sign", archive, "--key", key}, wantCode: 1, wantErr: "set PYPYCTL_KEY_PASSWORD"},
		{
			name:     "verify tampered archive",
			setup:    func() { os.WriteFile(archive, []byte("archive bytez"), 0o644) },
			args:     []string{"verify", archive, "--key", pub},
			wantCode: 1,
			wantErr:  fmt.Sprintf("pypyctl: %s: sha256 mismatch with %s: expected %s, actual ", archive, sums, hex.EncodeToString(sum[:])),
			wantOut:  "FAIL " + archive,
		},
		{
			name:     "verify tampered archive json",
			args:     []string{"verify", archive, "--key", pub, "--json"},
			wantCode: 1,
			wantOut:  `"expected": "` + hex.EncodeToString(sum[:]) + `"`,
			wantErr:  "sha256 mismatch",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			e := env
			if tt.env != nil {
				e = tt.env
			}
			code, out, errOut := trustCLI(t, e, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, out, errOut)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout %q lacks %q", out, tt.wantOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr %q lacks %q", errOut, tt.wantErr)
			}
		})
	}
}
