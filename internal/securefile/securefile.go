// Package securefile keeps generated secrets on disk: created once with mode
// 0600 in a 0700 directory, written atomically, and never overwritten, so two
// processes starting together agree on one secret.
package securefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Write saves data to path (0600) atomically. It fails with an error wrapping
// fs.ErrExist when path already exists: a secret is never clobbered.
func Write(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".secret-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// Link fails if path exists, so a concurrent writer never clobbers it.
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return nil
}

// LoadOrCreate returns the contents of path, or, when it does not exist,
// the bytes create makes, after saving them with Write. If another process
// saved first, its contents win.
func LoadOrCreate(path string, create func() ([]byte, error)) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		return data, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	data, err = create()
	if err != nil {
		return nil, err
	}
	if err := Write(path, data); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return os.ReadFile(path)
		}
		return nil, err
	}
	return data, nil
}
