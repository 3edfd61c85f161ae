package config

import (
	"strings"
	"testing"
)

const natsSeed = "SAAJHVQRUGNQ5IJ2XDNGL6AZO7AOU3ZZWFG4PYBGMPIMROAGHNPDTPOKRE" // 58 characters, SA…

func TestNATSConfig(t *testing.T) {
	base := minimalServe + "nats: {url: nats://n:4222, user: gatehouse, issuer_seed: " + natsSeed + ", account: APP"
	ok := []string{
		base + "}\n",
		base + ", system: {user: sys, password: pw}}\n",
	}
	for _, doc := range ok {
		if _, err := Parse([]byte(doc), Serve, env(nil)); err != nil {
			t.Errorf("%s: %v", doc, err)
		}
	}
	refused := []struct{ doc, key string }{
		{minimalServe + "nats: {user: gatehouse}\n", "nats.url"},
		{base + ", system: {password: pw}}\n", "nats.system.user"},
		{base + ", system: {user: gatehouse}}\n", "nats.system.user"},
		{minimalServe + "nats: {url: http://n, user: g, issuer_seed: " + natsSeed + ", account: A}\n", "nats.url"},
		{minimalServe + "nats: {url: nats://n, user: g, issuer_seed: SU" + natsSeed[2:] + ", account: A}\n", "nats.issuer_seed"},
		{base + ", xkey_seed: SA" + natsSeed[2:] + "}\n", "nats.xkey_seed"},
	}
	for _, tc := range refused {
		_, err := Parse([]byte(tc.doc), Serve, env(nil))
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s: err = %v, want it to name %s", tc.doc, err, tc.key)
		}
	}
	c, err := Parse([]byte(base+", password: p1, system: {user: sys, password: p2}}\n"), Serve, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Redact()
	if r.NATS.Password != Redacted || r.NATS.IssuerSeed != Redacted || r.NATS.System.Password != Redacted || r.NATS.System.User != "sys" {
		t.Fatalf("redacted: %+v %+v", r.NATS, r.NATS.System)
	}
	if c.NATS.System.Password != "p2" {
		t.Fatal("Redact changed the original")
	}
}
