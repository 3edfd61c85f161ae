package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"gatehouse/internal/securefile"
)

// devAppID is the id of the realtime app `gatehouse dev` adds when the
// config defines none.
const devAppID = "dev"

// devAppFile is where the dev app's credentials are kept, under the data
// dir, so that clients keep working across restarts.
const devAppFile = "dev-app.json"

// devAppCreds are the dev app's key and secret.
type devAppCreds struct {
	Key    string `json:"key"`
	Secret string `json:"secret"`
}

// loadOrCreateDevApp reads the credentials kept at path, or generates them
// and writes them there (0600).
func loadOrCreateDevApp(path string) (devAppCreds, error) {
	data, err := securefile.LoadOrCreate(path, func() ([]byte, error) {
		return json.MarshalIndent(devAppCreds{Key: randomHex(10), Secret: randomHex(16)}, "", "  ")
	})
	if err != nil {
		return devAppCreds{}, fmt.Errorf("dev: app credentials: %w", err)
	}
	var c devAppCreds
	if err := json.Unmarshal(data, &c); err != nil {
		return devAppCreds{}, fmt.Errorf("dev: %s: %w", path, err)
	}
	if len(c.Key) < 16 || len(c.Secret) < 16 {
		return devAppCreds{}, fmt.Errorf("dev: %s: key and secret must be at least 16 characters", path)
	}
	return c, nil
}

// randomHex returns n random bytes, hex encoded (the shape of Pusher keys
// and secrets).
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
