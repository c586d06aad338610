package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Key is the hex sha256 naming one stage output.
type Key string

// Short is the first 12 hex digits, for messages.
func (k Key) Short() string {
	if len(k) > 12 {
		return string(k[:12])
	}
	return string(k)
}

// NewKey digests a stage's identity and inputs. inputs must encode
// deterministically with encoding/json (structs, sorted maps, slices).
func NewKey(stage string, version int, inputs any) (Key, error) {
	b, err := json.Marshal(struct {
		Stage   string `json:"stage"`
		Version int    `json:"version"`
		Inputs  any    `json:"inputs"`
	}{stage, version, inputs})
	if err != nil {
		return "", fmt.Errorf("store key for %s: %w", stage, err)
	}
	sum := sha256.Sum256(b)
	return Key(hex.EncodeToString(sum[:])), nil
}
