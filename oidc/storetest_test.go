package oidc_test

import (
	"testing"
	"time"

	"gatehouse/oidc"
	"gatehouse/oidc/storetest"
)

func TestMemoryStoresConform(t *testing.T) {
	now := func() time.Time { return time.Unix(1_800_000_000, 0) }
	storetest.RunSpill(t, func(*testing.T) oidc.SpillStore { return oidc.NewMemoryStore(100, now) }, now)
	storetest.RunIndex(t, func(*testing.T) oidc.SessionIndex { return oidc.NewMemoryIndex(100, now) }, now)
}
