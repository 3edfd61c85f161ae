package rtbench

import (
	"strconv"
	"testing"
	"time"
)

// textCase is one server message and what the client must make of it.
type textCase struct {
	name      string
	msg       string
	delivered int64  // bench events counted
	seqs      []int  // latency samples recorded, by event number
	reply     string // sent back ("" for nothing)
}

// runText feeds each case's message to w on a recording client and checks
// the count, the samples (each 250 ms, from the send time in the data) and
// the reply.
func runText(t *testing.T, w wire, cases []textCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fleet{wire: w}
			f.recording.Store(true)
			c := &client{f: f}
			reply := w.text(c, []byte(tc.msg), sentAt.Add(250*time.Millisecond))
			if string(reply) != tc.reply {
				t.Errorf("reply %q, want %q", reply, tc.reply)
			}
			if got := f.delivered.Load(); got != tc.delivered {
				t.Errorf("delivered %d, want %d", got, tc.delivered)
			}
			if len(c.lat) != len(tc.seqs) {
				t.Fatalf("samples %+v, want events %v", c.lat, tc.seqs)
			}
			for i, s := range c.lat {
				if s.seq != tc.seqs[i] || s.lat != 250*time.Millisecond {
					t.Errorf("sample %d = %+v, want event %d after 250ms", i, s, tc.seqs[i])
				}
			}
		})
	}
}

var sentAt = time.Unix(1_700_000_000, 123_456_789)

// benchData is what publisher.publish sends as event seq's data.
func benchData(seq int) string {
	return strconv.Itoa(seq) + " " + strconv.FormatInt(sentAt.UnixNano(), 10) + " xxxxxxxx"
}

func TestPusherText(t *testing.T) {
	w := newPusherWire(Config{App: App{ID: "bench", Key: "k", Secret: "s"}})
	runText(t, w, []textCase{
		{name: "event", msg: `{"event":"bench","channel":"public-bench-fan","data":"` + benchData(7) + `"}`, delivered: 1, seqs: []int{7}},
		{name: "event without data", msg: `{"event":"bench","channel":"public-bench-fan"}`, delivered: 1},
		{name: "ping", msg: `{"event":"pusher:ping","data":{}}`, reply: `{"event":"pusher:pong","data":{}}`},
		{name: "other event", msg: `{"event":"other","channel":"public-bench-fan","data":"` + benchData(1) + `"}`},
		{name: "subscription succeeded", msg: `{"event":"pusher_internal:subscription_succeeded","channel":"public-bench-fan","data":"{}"}`},
	})
}

func TestCentrifugoText(t *testing.T) {
	w := newCentrifugoWire(Config{APIKey: "k"})
	pub := func(seq int) string {
		return `{"push":{"channel":"public-bench-fan","pub":{"data":"` + benchData(seq) + `"}}}`
	}
	runText(t, w, []textCase{
		{name: "publication", msg: pub(3), delivered: 1, seqs: []int{3}},
		{name: "publications batched in one message", msg: pub(3) + "\n" + pub(4) + "\n" + pub(5), delivered: 3, seqs: []int{3, 4, 5}},
		{name: "ping", msg: `{}`, reply: `{}`},
		{name: "ping batched between publications", msg: pub(1) + "\n{}\n" + pub(2), delivered: 2, seqs: []int{1, 2}, reply: `{}`},
		{name: "publication with an offset before its data", msg: `{"push":{"channel":"public-bench-fan","pub":{"offset":9,"data":"` + benchData(8) + `"}}}`, delivered: 1, seqs: []int{8}},
		{name: "publication of other data", msg: `{"push":{"channel":"public-bench-fan","pub":{"data":{"a":1}}}}`, delivered: 1},
		{name: "join push", msg: `{"push":{"channel":"public-bench-fan","join":{"info":{"client":"c","data":"` + benchData(1) + `"}}}}`},
		{name: "subscribe reply", msg: `{"id":2,"subscribe":{}}`},
		{name: "trailing newline", msg: pub(6) + "\n", delivered: 1, seqs: []int{6}},
	})
}

func TestCentrifugoAccepted(t *testing.T) {
	w := newCentrifugoWire(Config{APIKey: "k"})
	for _, tc := range []struct {
		status int
		body   string
		ok     bool
	}{
		{200, `{"result":{}}`, true},
		{200, `{"error":{"code":107,"message":"bad request"}}`, false},
		{401, ``, false},
		{200, `not json`, false},
	} {
		if err := w.accepted(tc.status, []byte(tc.body)); (err == nil) != tc.ok {
			t.Errorf("accepted(%d, %s) = %v, want ok %v", tc.status, tc.body, err, tc.ok)
		}
	}
}
