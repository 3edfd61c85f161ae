package oidc

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"gatehouse/internal/securefile"
)

// SessionKeys are one hash key and one block key for session cookies.
type SessionKeys struct {
	Hash  []byte
	Block []byte
}

type sessionKeysFile struct {
	Hash  string `json:"hash_key"`
	Block string `json:"block_key"`
}

// LoadOrCreateSessionKeys reads the session keys kept at path, or generates
// a 64-byte hash key and a 32-byte block key and writes them there (0600),
// so that restarts of a development server keep everyone logged in.
func LoadOrCreateSessionKeys(path string) (SessionKeys, error) {
	data, err := securefile.LoadOrCreate(path, func() ([]byte, error) {
		h, b := make([]byte, 64), make([]byte, 32)
		_, _ = rand.Read(h)
		_, _ = rand.Read(b)
		return json.Marshal(sessionKeysFile{
			Hash: base64.StdEncoding.EncodeToString(h), Block: base64.StdEncoding.EncodeToString(b),
		})
	})
	if err != nil {
		return SessionKeys{}, fmt.Errorf("oidc: session keys: %w", err)
	}
	var f sessionKeysFile
	if err := json.Unmarshal(data, &f); err != nil {
		return SessionKeys{}, fmt.Errorf("oidc: session keys %s: %w", path, err)
	}
	h, err1 := base64.StdEncoding.DecodeString(f.Hash)
	b, err2 := base64.StdEncoding.DecodeString(f.Block)
	if err1 != nil || err2 != nil || len(h) != 64 || len(b) != 32 {
		return SessionKeys{}, fmt.Errorf("oidc: session keys %s: malformed", path)
	}
	return SessionKeys{Hash: h, Block: b}, nil
}
