package pusherproto

import (
	"errors"
	"net/url"
	"testing"
	"time"
)

// The worked example of Pusher's HTTP API reference.
const (
	refBody = `{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}`
	refTS   = 1353088179
	refSig  = "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"
)

func refQuery() url.Values {
	return url.Values{
		"auth_key":       {vecKey},
		"auth_timestamp": {"1353088179"},
		"auth_version":   {"1.0"},
		"body_md5":       {"ec365a775a4cd0599faeb73354201b6f"},
		"auth_signature": {refSig},
	}
}

func TestSignRequestReference(t *testing.T) {
	if got := BodyMD5([]byte(refBody)); got != "ec365a775a4cd0599faeb73354201b6f" {
		t.Fatalf("BodyMD5 = %s", got)
	}
	want := "POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f"
	if got := StringToSign("post", "/apps/3/events", refQuery()); got != want {
		t.Fatalf("StringToSign = %q, want %q", got, want)
	}
	if got := SignRequest(vecSecret, "POST", "/apps/3/events", refQuery()); got != refSig {
		t.Fatalf("SignRequest = %s, want %s", got, refSig)
	}
	q := SignedQuery(vecKey, vecSecret, "POST", "/apps/3/events", nil, []byte(refBody), time.Unix(refTS, 0))
	if q.Get("auth_signature") != refSig {
		t.Fatalf("SignedQuery signature = %s, want %s", q.Get("auth_signature"), refSig)
	}
}

func TestStringToSignLowercasesAndSorts(t *testing.T) {
	q := url.Values{"Info": {"user_count,subscription_count"}, "filter_by_prefix": {"presence-"}, "auth_key": {"k"}}
	want := "GET\n/apps/1/channels\nauth_key=k&filter_by_prefix=presence-&info=user_count,subscription_count"
	if got := StringToSign("GET", "/apps/1/channels", q); got != want {
		t.Fatalf("StringToSign = %q, want %q", got, want)
	}
}

func TestVerifyRequest(t *testing.T) {
	now := time.Unix(refTS, 0)
	body := []byte(refBody)
	tests := []struct {
		name   string
		key    string
		secret string
		method string
		mutate func(q url.Values)
		body   []byte
		now    time.Time
		want   error
	}{
		{name: "reference", want: nil},
		{name: "lower-case method", method: "post", want: nil},
		{name: "clock 600s ahead", now: now.Add(600 * time.Second), want: nil},
		{name: "clock 600s behind", now: now.Add(-600 * time.Second), want: nil},
		{name: "stale timestamp", now: now.Add(601 * time.Second), want: ErrStaleTimestamp},
		{name: "future timestamp", now: now.Add(-601 * time.Second), want: ErrStaleTimestamp},
		{name: "garbage timestamp", mutate: func(q url.Values) { q.Set("auth_timestamp", "soon") }, want: ErrStaleTimestamp},
		{name: "wrong secret", secret: "not-the-secret", want: ErrBadSignature},
		{name: "wrong key", key: "other-key", want: ErrWrongKey},
		{name: "bad body_md5", mutate: func(q url.Values) { q.Set("body_md5", BodyMD5([]byte("x"))) }, want: ErrBodyMD5},
		{name: "body changed", body: []byte(refBody + " "), want: ErrBodyMD5},
		{name: "missing body_md5", mutate: func(q url.Values) { q.Del("body_md5") }, want: ErrBodyMD5},
		{name: "missing signature", mutate: func(q url.Values) { q.Del("auth_signature") }, want: ErrMissingParam},
		{name: "bad version", mutate: func(q url.Values) { q.Set("auth_version", "2.0") }, want: ErrBadVersion},
		{name: "extra param not signed", mutate: func(q url.Values) { q.Set("socket_id", "1.1") }, want: ErrBadSignature},
		{name: "tampered signature", mutate: func(q url.Values) { q.Set("auth_signature", refSig[:63]+"d") }, want: ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := refQuery()
			if tt.mutate != nil {
				tt.mutate(q)
			}
			key, secret, method, b, n := vecKey, vecSecret, "POST", body, now
			if tt.key != "" {
				key = tt.key
			}
			if tt.secret != "" {
				secret = tt.secret
			}
			if tt.method != "" {
				method = tt.method
			}
			if tt.body != nil {
				b = tt.body
			}
			if !tt.now.IsZero() {
				n = tt.now
			}
			err := VerifyRequest(key, secret, method, "/apps/3/events", q, b, n)
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifyRequest = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyRequestEmptyBody(t *testing.T) {
	now := time.Unix(1700000000, 0)
	params := url.Values{"info": {"user_count"}, "filter_by_prefix": {"presence-"}}
	q := SignedQuery("k", "s", "GET", "/apps/1/channels", params, nil, now)
	if q.Has("body_md5") {
		t.Fatal("SignedQuery added body_md5 for an empty body")
	}
	if err := VerifyRequest("k", "s", "GET", "/apps/1/channels", q, nil, now); err != nil {
		t.Fatalf("VerifyRequest = %v", err)
	}
	if err := VerifyRequest("k", "s", "GET", "/apps/2/channels", q, nil, now); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("VerifyRequest on another path = %v", err)
	}
}

func FuzzVerifyRequest(f *testing.F) {
	f.Add("auth_key=k&auth_timestamp=1700000000&auth_version=1.0&auth_signature=00", "{}")
	f.Add(SignedQuery("k", "s", "POST", "/apps/1/events", nil, []byte("{}"), time.Unix(1700000000, 0)).Encode(), "{}")
	f.Add("%zz&=&&auth_key", "")
	f.Fuzz(func(t *testing.T, rawQuery, body string) {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		now := time.Unix(1700000000, 0)
		if VerifyRequest("k", "s", "POST", "/apps/1/events", q, []byte(body), now) == nil {
			// Anything accepted must carry the signature we would compute.
			if q.Get("auth_signature") == "" || SignRequest("s", "POST", "/apps/1/events", q) != q.Get("auth_signature") && SignRequest("s", "POST", "/apps/1/events", q) != lower(q.Get("auth_signature")) {
				t.Fatalf("accepted an unsigned query %q", rawQuery)
			}
		}
	})
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}
