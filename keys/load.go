package keys

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gatehouse/internal/securefile"
)

// Spec names one configured key file.
type Spec struct {
	KID  string
	Alg  string
	File string
}

// Load reads every key file named in specs, in order.
func Load(specs []Spec) (*Set, error) {
	ks := make([]*Key, 0, len(specs))
	for i, s := range specs {
		data, err := os.ReadFile(s.File)
		if err != nil {
			return nil, fmt.Errorf("keys: signing[%d]: %w", i, err)
		}
		k, err := ParsePEM(s.KID, s.Alg, data)
		if err != nil {
			return nil, fmt.Errorf("keys: signing[%d] (%s): %w", i, s.File, err)
		}
		ks = append(ks, k)
	}
	return NewSet(ks...)
}

// LoadDir loads one key per algorithm from dir, generating and saving (0600)
// any that is missing, so restarts keep the same key ids. The first algorithm
// becomes the active key.
func LoadDir(dir string, algs []string) (*Set, error) {
	if len(algs) == 0 {
		return nil, errors.New("keys: no algorithm to load")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keys: create %s: %w", dir, err)
	}
	var ks []*Key
	seen := map[string]bool{}
	for _, alg := range algs {
		if seen[alg] {
			continue
		}
		seen[alg] = true
		k, err := loadOrGenerate(filepath.Join(dir, strings.ToLower(alg)+".pem"), alg)
		if err != nil {
			return nil, err
		}
		ks = append(ks, k)
	}
	return NewSet(ks...)
}

func loadOrGenerate(path, alg string) (*Key, error) {
	data, err := securefile.LoadOrCreate(path, func() ([]byte, error) {
		k, err := Generate(alg)
		if err != nil {
			return nil, err
		}
		return k.MarshalPEM()
	})
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return ParsePEM("", alg, data)
}

// WriteFile saves the key's private PEM to path with mode 0600, atomically,
// refusing to overwrite an existing file.
func WriteFile(path string, k *Key) error {
	data, err := k.MarshalPEM()
	if err != nil {
		return err
	}
	if err := securefile.Write(path, data); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	return nil
}
