package securefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "secret.json")
	calls := 0
	mk := func() ([]byte, error) { calls++; return []byte("one"), nil }
	got, err := LoadOrCreate(path, mk)
	if err != nil || string(got) != "one" {
		t.Fatalf("%q %v", got, err)
	}
	st, _ := os.Stat(path)
	dir, _ := os.Stat(filepath.Dir(path))
	if st.Mode().Perm() != 0o600 || dir.Mode().Perm() != 0o700 {
		t.Fatalf("modes %v %v", st.Mode().Perm(), dir.Mode().Perm())
	}
	got, err = LoadOrCreate(path, func() ([]byte, error) { return []byte("two"), nil })
	if err != nil || string(got) != "one" || calls != 1 {
		t.Fatalf("second load: %q %v", got, err)
	}
	if err := Write(path, []byte("three")); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("overwrite: %v", err)
	}
}

// Many processes starting together agree on one secret.
func TestLoadOrCreateRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	var wg sync.WaitGroup
	results := make([]string, 16)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := LoadOrCreate(path, func() ([]byte, error) { return []byte{byte('a' + i)}, nil })
			if err != nil {
				t.Error(err)
			}
			results[i] = string(b)
		}()
	}
	wg.Wait()
	for _, r := range results {
		if r != results[0] {
			t.Fatalf("disagreement: %v", results)
		}
	}
}
