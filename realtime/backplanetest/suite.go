package backplanetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"gatehouse/realtime"
)

// Wait is how long the suite waits for an asynchronous delivery.
const Wait = 5 * time.Second

// Run runs the conformance suite against backplanes made by newBackplane.
func Run(t *testing.T, newBackplane func(t *testing.T) realtime.Backplane) {
	tests := []struct {
		name string
		fn   func(*testing.T, realtime.Backplane)
	}{
		{"PublishReachesEverySubscriber", testPublishReachesEverySubscriber},
		{"PublishKeepsOrder", testPublishKeepsOrder},
		{"EnvelopeRoundTrip", testEnvelopeRoundTrip},
		{"StopEndsDelivery", testStopEndsDelivery},
		{"Occupancy", testOccupancy},
		{"ChannelsFilter", testChannelsFilter},
		{"PresenceCountsUsersOnce", testPresenceCountsUsersOnce},
		{"PresenceAcrossNodes", testPresenceAcrossNodes},
		{"PresenceLimit", testPresenceLimit},
		{"PresenceOrderAndInfo", testPresenceOrderAndInfo},
		{"Cache", testCache},
		{"Ping", testPing},
		{"ResumesAfterBlips", testResumesAfterBlips},
		{"History", testHistory},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bp := newBackplane(t)
			t.Cleanup(func() { _ = bp.Close() })
			tt.fn(t, bp)
		})
	}
}

// Sink collects the envelopes a subscription delivers.
type Sink chan realtime.Envelope

// Subscribe subscribes to bp for the rest of the test.
func Subscribe(t *testing.T, bp realtime.Backplane) Sink {
	t.Helper()
	ch := make(Sink, 4096)
	stop, err := bp.Subscribe(context.Background(), func(env realtime.Envelope) { ch <- env })
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	t.Cleanup(stop)
	return ch
}

// Chat is the channel of the suite's published messages (msg).
var Chat = realtime.ChannelKey{App: "app", Channel: "chat"}

// Watch makes bp deliver the envelopes of key for the rest of the test.
func Watch(t *testing.T, bp realtime.Backplane, key realtime.ChannelKey) {
	t.Helper()
	if err := bp.Watch(context.Background(), key); err != nil {
		t.Fatalf("Watch: %v", err)
	}
	t.Cleanup(func() { bp.Unwatch(key) })
}

// Next returns the next envelope, failing the test after Wait.
func (s Sink) Next(t *testing.T) realtime.Envelope {
	t.Helper()
	select {
	case env := <-s:
		return env
	case <-time.After(Wait):
		t.Fatal("no envelope delivered in time")
		return realtime.Envelope{}
	}
}

func publish(t *testing.T, bp realtime.Backplane, env realtime.Envelope) {
	t.Helper()
	if err := bp.Publish(context.Background(), env); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

func msg(i int) realtime.Envelope {
	return realtime.Envelope{Kind: realtime.KindPublish, Origin: "n1",
		Message: realtime.Message{App: "app", Channel: "chat", Name: "ev", Data: fmt.Sprint(i)}}
}

func testPublishReachesEverySubscriber(t *testing.T, bp realtime.Backplane) {
	Watch(t, bp, Chat)
	a, b := Subscribe(t, bp), Subscribe(t, bp)
	publish(t, bp, msg(1))
	for _, s := range []Sink{a, b} {
		if got := s.Next(t); got.Message.Data != "1" {
			t.Fatalf("got %+v", got)
		}
	}
}

func testPublishKeepsOrder(t *testing.T, bp realtime.Backplane) {
	Watch(t, bp, Chat)
	s := Subscribe(t, bp)
	const n = 200
	for i := 0; i < n; i++ {
		publish(t, bp, msg(i))
	}
	for i := 0; i < n; i++ {
		if got := s.Next(t); got.Message.Data != fmt.Sprint(i) {
			t.Fatalf("envelope %d carries %q", i, got.Message.Data)
		}
	}
}

func testEnvelopeRoundTrip(t *testing.T, bp realtime.Backplane) {
	Watch(t, bp, realtime.ChannelKey{App: "a", Channel: "presence-x"})
	s := Subscribe(t, bp)
	want := []realtime.Envelope{
		{Kind: realtime.KindPublish, Origin: "node-a", Message: realtime.Message{App: "a", Channel: "presence-x",
			Name: "client-ü", Data: "{\"x\":\"\\u0000 é \U0001F600\"}\n", UserID: "u1", Except: "1.2", Sender: "1.2", SenderSub: "auth0|42", ID: "m1"}},
		{Kind: realtime.KindMemberAdded, Origin: "node-a", Message: realtime.Message{App: "a", Channel: "presence-x"},
			UserID: "u1", UserInfo: []byte(`{"name":"Ada"}`), Conn: "1.2"},
		{Kind: realtime.KindMemberRemoved, Origin: "node-b", Message: realtime.Message{App: "a", Channel: "presence-x"}, UserID: "u1", Conn: "3.4"},
		{Kind: realtime.KindBindSession, Origin: "node-b", Message: realtime.Message{App: "a"}, Conn: "3.4", SID: "sid-1"},
		{Kind: realtime.KindRevokeSession, Origin: "node-b", SID: "sid-1"},
		{Kind: realtime.KindTerminateUser, Origin: "node-b", Message: realtime.Message{App: "a"}, UserID: "u1"},
	}
	for _, env := range want {
		publish(t, bp, env)
	}
	// Channel envelopes keep their order, and so do the others; the two
	// kinds may interleave differently.
	var gotCh, gotOther []realtime.Envelope
	for range want {
		if env := s.Next(t); realtime.IsChannelKind(env.Kind) {
			gotCh = append(gotCh, env)
		} else {
			gotOther = append(gotOther, env)
		}
	}
	var wantCh, wantOther []realtime.Envelope
	for _, w := range want {
		if realtime.IsChannelKind(w.Kind) {
			wantCh = append(wantCh, w)
		} else {
			wantOther = append(wantOther, w)
		}
	}
	if len(gotCh) != len(wantCh) {
		t.Fatalf("got %d channel envelopes, want %d", len(gotCh), len(wantCh))
	}
	for i, w := range append(wantCh, wantOther...) {
		got := append(gotCh, gotOther...)[i]
		if string(got.UserInfo) != string(w.UserInfo) {
			t.Fatalf("user_info: got %s, want %s", got.UserInfo, w.UserInfo)
		}
		got.UserInfo, w.UserInfo = nil, nil
		if !reflect.DeepEqual(got, w) {
			t.Fatalf("envelope changed in transit:\n got %+v\nwant %+v", got, w)
		}
	}
}

func testStopEndsDelivery(t *testing.T, bp realtime.Backplane) {
	stopped := make(chan realtime.Envelope, 16)
	stop, err := bp.Subscribe(context.Background(), func(env realtime.Envelope) { stopped <- env })
	if err != nil {
		t.Fatal(err)
	}
	stop()
	Watch(t, bp, Chat)
	live := Subscribe(t, bp)
	publish(t, bp, msg(1))
	live.Next(t) // delivered to the live subscriber, so the stopped one had its chance
	select {
	case env := <-stopped:
		t.Fatalf("stopped subscriber got %+v", env)
	default:
	}
}

// Blipper is a backplane whose connection to its shared store can be cut
// on purpose (a blip): every backplane implements it so that the suite
// can check that a blip loses nothing (an in-process one has nothing to
// cut and does nothing).
type Blipper interface {
	// Blip cuts the connections that carry envelopes to this node and
	// returns once they are back.
	Blip(ctx context.Context) error
}

// testResumesAfterBlips publishes while the node's connection is cut
// again and again: every envelope arrives once, in order.
func testResumesAfterBlips(t *testing.T, bp realtime.Backplane) {
	b, ok := bp.(Blipper)
	if !ok {
		t.Fatalf("%T does not implement backplanetest.Blipper", bp)
	}
	Watch(t, bp, Chat)
	s := Subscribe(t, bp)
	const n = 300
	for i := 0; i < n; i++ {
		publish(t, bp, msg(i))
		if i%50 == 25 {
			if err := b.Blip(context.Background()); err != nil {
				t.Fatalf("Blip: %v", err)
			}
		}
	}
	for i := 0; i < n; i++ {
		if got := s.Next(t); got.Message.Data != fmt.Sprint(i) {
			t.Fatalf("envelope %d carries %q (lost, repeated or reordered across a blip)", i, got.Message.Data)
		}
	}
}

// testHistory keeps the last events of a channel, newest limit, oldest
// first, pages with before, and drops what is older than the ttl.
func testHistory(t *testing.T, bp realtime.Backplane) {
	ctx := context.Background()
	key := realtime.ChannelKey{App: "app", Channel: "chat-1"}
	now := time.Unix(1_800_000_000, 0)
	for i := 1; i <= 5; i++ {
		ev := realtime.HistoryEvent{ID: fmt.Sprint(1000 + i), Name: "m", Data: fmt.Sprint(i), At: now.Add(time.Duration(i) * time.Second).UnixMilli()}
		if err := bp.HistoryAppend(ctx, key, ev, 3, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	data := func(evs []realtime.HistoryEvent) []string {
		out := []string{}
		for _, e := range evs {
			out = append(out, e.Data)
		}
		return out
	}
	at := now.Add(10 * time.Second)
	got, err := bp.HistoryRange(ctx, key, 10, "", time.Hour, at)
	if err != nil || !reflect.DeepEqual(data(got), []string{"3", "4", "5"}) {
		t.Fatalf("kept %v (%v), want the last 3 oldest first", data(got), err)
	}
	if got, _ := bp.HistoryRange(ctx, key, 1, "", time.Hour, at); !reflect.DeepEqual(data(got), []string{"5"}) {
		t.Fatalf("limit 1: %v", data(got))
	}
	if got, _ := bp.HistoryRange(ctx, key, 10, "1005", time.Hour, at); !reflect.DeepEqual(data(got), []string{"3", "4"}) {
		t.Fatalf("before 1005: %v", data(got))
	}
	if got, _ := bp.HistoryRange(ctx, key, 10, "", 6*time.Second, at); !reflect.DeepEqual(data(got), []string{"4", "5"}) {
		t.Fatalf("ttl 6s at +10s: %v", data(got))
	}
	if got, _ := bp.HistoryRange(ctx, realtime.ChannelKey{App: "app", Channel: "other"}, 10, "", 0, at); len(got) != 0 {
		t.Fatalf("another channel: %v", got)
	}
}

func occupy(t *testing.T, bp realtime.Backplane, key realtime.ChannelKey, node string, d int) int {
	t.Helper()
	n, err := bp.Occupy(context.Background(), key, node, d)
	if err != nil {
		t.Fatalf("Occupy: %v", err)
	}
	return n
}

func testOccupancy(t *testing.T, bp realtime.Backplane) {
	key := realtime.ChannelKey{App: "app", Channel: "chat"}
	steps := []struct {
		node  string
		delta int
		want  int
	}{
		{"n1", 1, 1}, {"n2", 1, 2}, {"n1", 1, 3}, {"n1", -1, 2}, {"n2", -1, 1}, {"n1", -1, 0},
	}
	for i, s := range steps {
		if got := occupy(t, bp, key, s.node, s.delta); got != s.want {
			t.Fatalf("step %d: total %d, want %d", i, got, s.want)
		}
	}
	chs, err := bp.Channels(context.Background(), "app", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(chs) != 0 {
		t.Fatalf("vacated channel still listed: %v", chs)
	}
}

func testChannelsFilter(t *testing.T, bp realtime.Backplane) {
	occupy(t, bp, realtime.ChannelKey{App: "app", Channel: "presence-a"}, "n1", 1)
	occupy(t, bp, realtime.ChannelKey{App: "app", Channel: "presence-a"}, "n2", 1)
	occupy(t, bp, realtime.ChannelKey{App: "app", Channel: "private-b"}, "n1", 1)
	occupy(t, bp, realtime.ChannelKey{App: "other", Channel: "presence-c"}, "n1", 1)
	tests := []struct {
		app, prefix string
		want        map[string]int
	}{
		{"app", "", map[string]int{"presence-a": 2, "private-b": 1}},
		{"app", "presence-", map[string]int{"presence-a": 2}},
		{"app", "nothing-", map[string]int{}},
		{"other", "", map[string]int{"presence-c": 1}},
	}
	for _, tt := range tests {
		got, err := bp.Channels(context.Background(), tt.app, tt.prefix)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(tt.want) || (len(got) > 0 && !reflect.DeepEqual(got, tt.want)) {
			t.Fatalf("Channels(%q, %q) = %v, want %v", tt.app, tt.prefix, got, tt.want)
		}
	}
}

func add(t *testing.T, bp realtime.Backplane, key realtime.ChannelKey, node, conn, user string, max int) bool {
	t.Helper()
	added, err := bp.PresenceAdd(context.Background(), key, node, conn, realtime.Member{UserID: user, UserInfo: []byte(`{"n":"` + user + `"}`)}, max)
	if err != nil {
		t.Fatalf("PresenceAdd(%s): %v", user, err)
	}
	return added
}

func remove(t *testing.T, bp realtime.Backplane, key realtime.ChannelKey, node, conn, user string) bool {
	t.Helper()
	removed, err := bp.PresenceRemove(context.Background(), key, node, conn, user)
	if err != nil {
		t.Fatalf("PresenceRemove(%s): %v", user, err)
	}
	return removed
}

func ids(t *testing.T, bp realtime.Backplane, key realtime.ChannelKey) []string {
	t.Helper()
	ms, err := bp.PresenceMembers(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.UserID)
	}
	return out
}

func testPresenceCountsUsersOnce(t *testing.T, bp realtime.Backplane) {
	key := realtime.ChannelKey{App: "app", Channel: "presence-x"}
	if !add(t, bp, key, "n1", "1.1", "u1", 0) {
		t.Fatal("first socket of u1 not reported as added")
	}
	if add(t, bp, key, "n1", "1.2", "u1", 0) {
		t.Fatal("second socket of u1 reported as added")
	}
	if got := ids(t, bp, key); !reflect.DeepEqual(got, []string{"u1"}) {
		t.Fatalf("members %v", got)
	}
	if remove(t, bp, key, "n1", "1.1", "u1") {
		t.Fatal("u1 reported removed while a socket is left")
	}
	if !remove(t, bp, key, "n1", "1.2", "u1") {
		t.Fatal("u1 not reported removed with its last socket")
	}
	if remove(t, bp, key, "n1", "1.2", "u1") {
		t.Fatal("removing twice reported removed")
	}
	if got := ids(t, bp, key); len(got) != 0 {
		t.Fatalf("members after all left: %v", got)
	}
}

func testPresenceAcrossNodes(t *testing.T, bp realtime.Backplane) {
	key := realtime.ChannelKey{App: "app", Channel: "presence-x"}
	other := realtime.ChannelKey{App: "other", Channel: "presence-x"}
	add(t, bp, key, "n1", "1.1", "u1", 0)
	if add(t, bp, key, "n2", "1.1", "u1", 0) {
		t.Fatal("u1 on a second node reported as added")
	}
	if !add(t, bp, other, "n1", "1.1", "u1", 0) {
		t.Fatal("apps share presence")
	}
	if remove(t, bp, key, "n1", "1.1", "u1") {
		t.Fatal("u1 removed while connected on n2")
	}
	if !remove(t, bp, key, "n2", "1.1", "u1") {
		t.Fatal("u1 not removed after its last node left")
	}
}

func testPresenceLimit(t *testing.T, bp realtime.Backplane) {
	key := realtime.ChannelKey{App: "app", Channel: "presence-x"}
	add(t, bp, key, "n1", "1.1", "u1", 2)
	add(t, bp, key, "n2", "2.1", "u2", 2)
	_, err := bp.PresenceAdd(context.Background(), key, "n1", "1.3", realtime.Member{UserID: "u3"}, 2)
	if !errors.Is(err, realtime.ErrPresenceFull) {
		t.Fatalf("third user: err %v, want ErrPresenceFull", err)
	}
	if add(t, bp, key, "n1", "1.4", "u2", 2) {
		t.Fatal("another socket of a present user counted as new")
	}
	if got := ids(t, bp, key); !reflect.DeepEqual(got, []string{"u1", "u2"}) {
		t.Fatalf("members %v", got)
	}
}

func testPresenceOrderAndInfo(t *testing.T, bp realtime.Backplane) {
	key := realtime.ChannelKey{App: "app", Channel: "presence-x"}
	users := []string{"c", "a", "b"}
	for i, u := range users {
		add(t, bp, key, "n1", fmt.Sprintf("1.%d", i), u, 0)
	}
	ms, err := bp.PresenceMembers(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, 0, len(ms))
	for _, m := range ms {
		got = append(got, m.UserID)
		if want := `{"n":"` + m.UserID + `"}`; string(m.UserInfo) != want {
			t.Fatalf("info of %s = %s, want %s", m.UserID, m.UserInfo, want)
		}
	}
	if !reflect.DeepEqual(got, users) {
		t.Fatalf("members %v, want join order %v", got, users)
	}
}

func testCache(t *testing.T, bp realtime.Backplane) {
	ctx := context.Background()
	key := realtime.ChannelKey{App: "app", Channel: "cache-x"}
	if _, ok, err := bp.CacheGet(ctx, key); err != nil || ok {
		t.Fatalf("empty cache: ok=%v err=%v", ok, err)
	}
	for _, d := range []string{"first", "second"} {
		if err := bp.CacheSet(ctx, key, realtime.CachedEvent{Name: "ev", Data: d}, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	ev, ok, err := bp.CacheGet(ctx, key)
	if err != nil || !ok || ev != (realtime.CachedEvent{Name: "ev", Data: "second"}) {
		t.Fatalf("CacheGet = %+v %v %v", ev, ok, err)
	}
	if _, ok, _ := bp.CacheGet(ctx, realtime.ChannelKey{App: "other", Channel: "cache-x"}); ok {
		t.Fatal("cache shared between apps")
	}
}

func testPing(t *testing.T, bp realtime.Backplane) {
	if err := bp.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
