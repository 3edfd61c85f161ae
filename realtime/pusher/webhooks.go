package pusher

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"gatehouse/apps"
	"gatehouse/pusherproto"
)

// hookEvent is one event of a webhook body, named as Pusher names them.
type hookEvent struct {
	Name     string `json:"name"`
	Channel  string `json:"channel"`
	Event    string `json:"event,omitempty"`
	Data     string `json:"data,omitempty"`
	SocketID string `json:"socket_id,omitempty"`
	UserID   string `json:"user_id,omitempty"`
}

// hookBody is what an app's webhook endpoint receives.
type hookBody struct {
	TimeMS int64       `json:"time_ms"`
	Events []hookEvent `json:"events"`
}

type hookItem struct {
	app *apps.App
	ev  hookEvent
}

// maxHookBatch is the most events one webhook request carries.
const maxHookBatch = 100

// webhooks gathers events into batches and posts them to the apps, signed,
// retrying with backoff. Adding never blocks: a full queue drops the event
// and logs it.
type webhooks struct {
	cfg     Config
	log     *slog.Logger
	queue   chan hookItem
	sem     chan struct{}
	wg      sync.WaitGroup
	stop    chan struct{}
	done    chan struct{}
	closing chan struct{}
}

func newWebhooks(cfg Config, log *slog.Logger) *webhooks {
	w := &webhooks{
		cfg: cfg, log: log,
		queue:   make(chan hookItem, cfg.WebhookQueue),
		sem:     make(chan struct{}, 16),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		closing: make(chan struct{}),
	}
	go w.loop()
	return w
}

// wants reports whether any webhook of a asks for events named name.
func wants(a *apps.App, name string) bool {
	for _, h := range a.Webhooks {
		for _, e := range h.Events {
			if e == name {
				return true
			}
		}
	}
	return false
}

func (w *webhooks) add(a *apps.App, ev hookEvent) {
	if !wants(a, ev.Name) {
		return
	}
	select {
	case w.queue <- hookItem{a, ev}:
	default:
		w.log.Warn("pusher: webhook queue full, event dropped", "app", a.ID, "event", ev.Name)
	}
}

func (w *webhooks) loop() {
	defer close(w.done)
	pending := map[*apps.App][]hookEvent{}
	n := 0
	var timer <-chan time.Time
	flush := func() {
		for a, evs := range pending {
			w.send(a, evs)
		}
		pending, n, timer = map[*apps.App][]hookEvent{}, 0, nil
	}
	for {
		select {
		case it := <-w.queue:
			pending[it.app] = append(pending[it.app], it.ev)
			n++
			if n >= maxHookBatch {
				flush()
			} else if timer == nil {
				timer = time.After(w.cfg.WebhookBatchWindow)
			}
		case <-timer:
			flush()
		case <-w.stop:
			for {
				select {
				case it := <-w.queue:
					pending[it.app] = append(pending[it.app], it.ev)
					continue
				default:
				}
				break
			}
			flush()
			return
		}
	}
}

// send posts evs to every webhook of a that wants some of them.
func (w *webhooks) send(a *apps.App, evs []hookEvent) {
	for _, h := range a.Webhooks {
		var mine []hookEvent
		for _, ev := range evs {
			for _, name := range h.Events {
				if name == ev.Name {
					mine = append(mine, ev)
					break
				}
			}
		}
		if len(mine) == 0 {
			continue
		}
		body, err := json.Marshal(hookBody{TimeMS: w.cfg.Now().UnixMilli(), Events: mine})
		if err != nil {
			continue
		}
		w.wg.Add(1)
		w.sem <- struct{}{}
		go func(url string) {
			defer func() { <-w.sem; w.wg.Done() }()
			w.post(a, url, body)
		}(h.URL)
	}
}

// post delivers one body, retrying network errors, 429 and 5xx.
func (w *webhooks) post(a *apps.App, url string, body []byte) {
	sig := pusherproto.Sign(a.Secret, string(body))
	delay := w.cfg.WebhookBackoff
	for attempt := 0; ; attempt++ {
		retry, err := w.postOnce(a, url, body, sig)
		if err == nil {
			return
		}
		if !retry || attempt >= w.cfg.WebhookRetries {
			w.log.Warn("pusher: webhook failed", "app", a.ID, "url", url, "attempts", attempt+1, "err", err)
			return
		}
		select {
		case <-time.After(delay):
		case <-w.closing:
			w.log.Warn("pusher: webhook abandoned at shutdown", "app", a.ID, "url", url, "err", err)
			return
		}
		delay *= 2
	}
}

type statusError int

func (e statusError) Error() string { return "pusher: webhook answered " + http.StatusText(int(e)) }

func (w *webhooks) postOnce(a *apps.App, url string, body []byte, sig string) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Pusher-Key", a.Key)
	req.Header.Set("X-Pusher-Signature", sig)
	resp, err := w.cfg.WebhookClient.Do(req)
	if err != nil {
		return true, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, statusError(resp.StatusCode)
	}
	return false, statusError(resp.StatusCode)
}

// close sends what is queued, stops retrying and waits for requests in
// flight.
func (w *webhooks) close() {
	close(w.stop)
	<-w.done
	close(w.closing)
	w.wg.Wait()
}
