package provenance

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	sigdsse "github.com/sigstore/sigstore/pkg/signature/dsse"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/trust/keys"
)

// PayloadType is the DSSE payload type of an in-toto statement.
const PayloadType = "application/vnd.in-toto+json"

// Sign wraps the statement in a DSSE envelope signed with s (over the
// DSSE pre-authentication encoding) and returns the envelope as one line
// of compact JSON without the newline. Signatures are deterministic, so
// equal statements give equal envelopes.
func Sign(ctx context.Context, s *keys.Signer, st *Statement) ([]byte, error) {
	body, err := st.Marshal()
	if err != nil {
		return nil, err
	}
	es, err := dsse.NewEnvelopeSigner(&sigdsse.SignerAdapter{SignatureSigner: s, Pub: s.Public(), PubKeyID: s.KeyID()})
	if err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	env, err := es.SignPayload(ctx, PayloadType, body)
	if err != nil {
		return nil, fmt.Errorf("provenance: sign: %w", err)
	}
	b, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("provenance: encode envelope: %w", err)
	}
	return b, nil
}

// WriteFile signs each statement and writes the envelopes to path, one
// JSON line each (the in-toto .intoto.jsonl convention).
func WriteFile(ctx context.Context, path string, s *keys.Signer, sts ...*Statement) error {
	var buf bytes.Buffer
	for _, st := range sts {
		line, err := Sign(ctx, s, st)
		if err != nil {
			return err
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	return fsutil.WriteFileAtomic(path, buf.Bytes(), 0o644)
}

// Verify checks a DSSE envelope (JSON) against pub and returns the
// statement it carries. It fails unless some signature verifies over the
// PAE of the exact payload, and the payload is an in-toto v1 statement
// with an SLSA v1 predicate.
func Verify(envelope []byte, pub *ecdsa.PublicKey) (*Statement, error) {
	var env dsse.Envelope
	dec := json.NewDecoder(bytes.NewReader(envelope))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("not a DSSE envelope: %w", err)
	}
	if env.PayloadType != PayloadType {
		return nil, fmt.Errorf("payloadType is %q, want %q", env.PayloadType, PayloadType)
	}
	body, err := decodeB64(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	if len(env.Signatures) == 0 {
		return nil, errors.New("envelope has no signatures")
	}
	v, err := keys.NewVerifier(pub)
	if err != nil {
		return nil, err
	}
	keyID, err := keys.KeyID(pub)
	if err != nil {
		return nil, err
	}
	pae := dsse.PAE(env.PayloadType, body)
	verified := false
	for _, s := range env.Signatures {
		if s.KeyID != "" && s.KeyID != keyID {
			continue // another key's signature
		}
		sig, err := decodeB64(s.Sig)
		if err != nil {
			continue
		}
		if v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(pae)) == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, fmt.Errorf("no signature in the envelope verifies with key %s", keyID)
	}
	var st Statement
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, fmt.Errorf("payload is not an in-toto statement: %w", err)
	}
	if st.Type != StatementType {
		return nil, fmt.Errorf("statement _type is %q, want %q", st.Type, StatementType)
	}
	if st.PredicateType != PredicateType {
		return nil, fmt.Errorf("predicateType is %q, want %q", st.PredicateType, PredicateType)
	}
	return &st, nil
}

// ReadFile returns the envelopes of a .intoto.jsonl file, one per
// non-empty line.
func ReadFile(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			out = append(out, append([]byte(nil), line...))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no envelopes", path)
	}
	return out, nil
}

// decodeB64 accepts standard or URL-safe base64, as DSSE allows, but
// rejects non-canonical encodings so that no altered byte goes unnoticed.
func decodeB64(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.Strict().DecodeString(s); err == nil {
		return b, nil
	}
	b, err := base64.URLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, errors.New("not base64")
	}
	return b, nil
}
