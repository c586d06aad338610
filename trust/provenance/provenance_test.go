package provenance

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/testtool"
	"github.com/pypyctl/pypyctl/trust/keys"
)

var (
	sumA = strings.Repeat("a1", 32)
	sumB = strings.Repeat("b2", 32)
	sumC = strings.Repeat("c3", 32)
)

func options() Options {
	epoch := int64(1720051200)
	return Options{
		Release:      "pypy3.11-v7.3.20",
		Target:       "linux-amd64",
		Matrix:       "<embedded>",
		MatrixSHA256: sumC,
		Artifacts: []Artifact{
			{Name: "pypy3.11-v7.3.20-linux64.tar.gz", SHA256: sumB},
			{Name: "pypy3.11-v7.3.20-linux64.tar.bz2", SHA256: sumA},
		},
		Dependencies: []Dependency{
			{Name: "pypy3_7.3.11+dfsg-2+deb12u3_amd64.deb", URI: "pkg:deb/debian/pypy3@7.3.11%2Bdfsg-2%2Bdeb12u3?arch=amd64", SHA256: sumC},
			{Name: "pip-23.0.1-py3-none-any.whl", SHA256: sumA},
		},
		Internal:        map[string]string{"vm": "debian"},
		PypyctlVersion:  "v0.1.0",
		SourceDateEpoch: &epoch,
	}
}

func signer(t *testing.T) *keys.Signer {
	t.Helper()
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	s, err := keys.NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStatementShape(t *testing.T) {
	st, err := New(options())
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// Read it back as plain JSON, as another tool would.
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	get := func(path string) any {
		var v any = m
		for _, k := range strings.Split(path, ".") {
			v = v.(map[string]any)[k]
		}
		return v
	}
	tests := []struct{ path, want string }{
		{"_type", "https://in-toto.io/Statement/v1"},
		{"predicateType", "https://slsa.dev/provenance/v1"},
		{"predicate.buildDefinition.buildType", BuildType},
		{"predicate.buildDefinition.externalParameters.release", "pypy3.11-v7.3.20"},
		{"predicate.buildDefinition.externalParameters.target", "linux-amd64"},
		{"predicate.buildDefinition.externalParameters.matrixDigest", "sha256:" + sumC},
		{"predicate.buildDefinition.internalParameters.vm", "debian"},
		{"predicate.runDetails.builder.id", DefaultBuilderID},
		{"predicate.runDetails.builder.version.pypyctl", "v0.1.0"},
		{"predicate.runDetails.metadata.startedOn", "2024-07-04T00:00:00Z"},
		{"predicate.runDetails.metadata.finishedOn", "2024-07-04T00:00:00Z"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(get(tt.path)); got != tt.want {
			t.Errorf("%s = %q, want %q", tt.path, got, tt.want)
		}
	}
	subs := m["subject"].([]any)
	if len(subs) != 2 || subs[0].(map[string]any)["name"] != "pypy3.11-v7.3.20-linux64.tar.bz2" ||
		subs[0].(map[string]any)["digest"].(map[string]any)["sha256"] != sumA {
		t.Errorf("subjects not sorted by name with digests: %v", subs)
	}
	deps := get("predicate.buildDefinition.resolvedDependencies").([]any)
	if len(deps) != 2 || deps[0].(map[string]any)["name"] != "pip-23.0.1-py3-none-any.whl" {
		t.Errorf("dependencies = %v", deps)
	}
	if id := fmt.Sprint(get("predicate.runDetails.metadata.invocationId")); !strings.HasPrefix(id, "urn:pypyctl:invocation:sha256:") {
		t.Errorf("invocationId = %s", id)
	}
}

func TestStatementDeterministic(t *testing.T) {
	a, _ := New(options())
	b, _ := New(options())
	ab, _ := a.Marshal()
	bb, _ := b.Marshal()
	if !bytes.Equal(ab, bb) {
		t.Fatal("two statements of the same build differ")
	}
	o := options()
	o.Artifacts[0].SHA256 = sumC
	c, _ := New(o)
	if c.Predicate.RunDetails.Metadata.InvocationID == a.Predicate.RunDetails.Metadata.InvocationID {
		t.Error("invocation id did not change with the subjects")
	}
	o = options()
	o.SourceDateEpoch = nil
	d, _ := New(o)
	if db, _ := d.Marshal(); bytes.Contains(db, []byte("startedOn")) {
		t.Error("timestamps written without SOURCE_DATE_EPOCH")
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Options)
		wantErr string
	}{
		{"no artifacts", func(o *Options) { o.Artifacts = nil }, "no artifacts"},
		{"bad digest", func(o *Options) { o.Artifacts[0].SHA256 = "abc" }, "not 64 hex"},
		{"duplicate name", func(o *Options) { o.Artifacts[1].Name = o.Artifacts[0].Name }, "repeated"},
		{"no release", func(o *Options) { o.Release = "" }, "release and target"},
		{"bad dependency digest", func(o *Options) { o.Dependencies[0].SHA256 = strings.Repeat("zz", 32) }, "not hex"},
		{"bad git tree", func(o *Options) { o.Dependencies[0].SHA256 = GitTreePrefix + "50befbeb" }, "not 40 or 64 hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options()
			tt.edit(&o)
			if _, err := New(o); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// A source checkout is named by its git tree id, as in-toto's gitTree.
func TestGitTreeDependency(t *testing.T) {
	o := options()
	o.Dependencies = append(o.Dependencies, Dependency{Name: "pypy-source", SHA256: GitTreePrefix + "50befbebae727399e812f8152e0b750c01d0c8e1"})
	st, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	for _, d := range st.Predicate.BuildDefinition.ResolvedDependencies {
		if d.Name == "pypy-source" {
			got = d.Digest
		}
	}
	if len(got) != 1 || got["gitTree"] != "50befbebae727399e812f8152e0b750c01d0c8e1" {
		t.Fatalf("digest %v", got)
	}
}

func TestSignVerify(t *testing.T) {
	s := signer(t)
	st, _ := New(options())
	env, err := Sign(context.Background(), s, st)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Sign(context.Background(), s, st)
	if !bytes.Equal(env, again) {
		t.Fatal("envelope is not deterministic")
	}
	got, err := Verify(env, s.Public())
	if err != nil {
		t.Fatal(err)
	}
	if sub, ok := got.Find("pypy3.11-v7.3.20-linux64.tar.bz2"); !ok || sub.SHA256() != sumA {
		t.Errorf("verified statement lacks the archive: %+v", got.Subject)
	}

	var e map[string]any
	json.Unmarshal(env, &e)
	payload, _ := base64.StdEncoding.DecodeString(e["payload"].(string))
	other := signer(t)
	tests := []struct {
		name    string
		env     func() []byte
		key     *keys.Signer
		wantErr string
	}{
		{"other key", func() []byte { return env }, other, "no signature in the envelope verifies"},
		{"payload changed", func() []byte {
			p := bytes.Replace(payload, []byte(sumA), []byte(sumB), 1)
			return bytes.Replace(env, []byte(e["payload"].(string)), []byte(base64.StdEncoding.EncodeToString(p)), 1)
		}, s, "no signature in the envelope verifies"},
		{"payload type changed", func() []byte {
			return bytes.Replace(env, []byte(PayloadType), []byte("application/json"), 1)
		}, s, "payloadType"},
		{"no signatures", func() []byte {
			return []byte(`{"payloadType":"` + PayloadType + `","payload":"e30=","signatures":[]}`)
		}, s, "no signatures"},
		{"unknown field", func() []byte { return bytes.Replace(env, []byte(`"payload":`), []byte(`"pay":1,"payload":`), 1) }, s, "not a DSSE envelope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Verify(tt.env(), tt.key.Public()); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestOpenSSLVerifiesEnvelope: an independent PAE (written from the DSSE
// spec here) and openssl agree with the envelope's signature.
func TestOpenSSLVerifiesEnvelope(t *testing.T) {
	testtool.Need(t, "openssl")
	dir := t.TempDir()
	s := signer(t)
	st, _ := New(options())
	path := filepath.Join(dir, "pypy3.11-v7.3.20-linux64"+Suffix)
	if err := WriteFile(context.Background(), path, s, st); err != nil {
		t.Fatal(err)
	}
	lines, err := ReadFile(path)
	if err != nil || len(lines) != 1 {
		t.Fatalf("ReadFile: %d lines, %v", len(lines), err)
	}
	var env struct {
		PayloadType string `json:"payloadType"`
		Payload     string `json:"payload"`
		Signatures  []struct {
			KeyID string `json:"keyid"`
			Sig   string `json:"sig"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal(lines[0], &env); err != nil {
		t.Fatal(err)
	}
	body, _ := base64.StdEncoding.DecodeString(env.Payload)
	pae := fmt.Sprintf("DSSEv1 %d %s %d %s", len(env.PayloadType), env.PayloadType, len(body), body)
	sig, _ := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	pub, _ := keys.EncodePublic(s.Public())
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	if env.Signatures[0].KeyID != s.KeyID() {
		t.Errorf("keyid = %q, want %q", env.Signatures[0].KeyID, s.KeyID())
	}
	out, err := exec.Command("openssl", "dgst", "-sha256", "-verify", write("pub.pem", pub), "-signature", write("sig.der", sig), write("pae", []byte(pae))).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verified OK") {
		t.Fatalf("openssl: %v %s", err, out)
	}
}
