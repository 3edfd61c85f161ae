package oidc

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
	data, err := os.ReadFile(path)
	if err == nil {
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
	if !errors.Is(err, fs.ErrNotExist) {
		return SessionKeys{}, fmt.Errorf("oidc: session keys: %w", err)
	}
	k := SessionKeys{Hash: make([]byte, 64), Block: make([]byte, 32)}
	_, _ = rand.Read(k.Hash)
	_, _ = rand.Read(k.Block)
	data, _ = json.Marshal(sessionKeysFile{
		Hash: base64.StdEncoding.EncodeToString(k.Hash), Block: base64.StdEncoding.EncodeToString(k.Block),
	})
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return SessionKeys{}, fmt.Errorf("oidc: session keys: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return SessionKeys{}, fmt.Errorf("oidc: session keys: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return SessionKeys{}, fmt.Errorf("oidc: session keys: %w", err)
	}
	return k, nil
}
