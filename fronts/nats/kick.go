package nats

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// The system account's subjects Gatehouse uses.
const (
	// kickSubject asks one server to close one client connection (its
	// request body is {"cid": N}).
	kickSubject = "$SYS.REQ.SERVER.%s.KICK"
	// disconnectSubject tells of every connection of an account that ends.
	disconnectSubject = "$SYS.ACCOUNT.%s.DISCONNECT"
)

// Kick retries: the first after kickFirstWait, doubling up to kickMaxWait,
// for as long as the connection's user JWT lasts (past it, NATS has closed
// the connection itself).
const (
	kickFirstWait = 100 * time.Millisecond
	kickMaxWait   = 5 * time.Second
	kickTimeout   = 2 * time.Second
	// maxKicks bounds the kicks in flight (each a goroutine retrying while
	// its connection's JWT lasts); past it a revoked session's connection
	// ends at its expiry (at most tokens.ttl) instead.
	maxKicks = maxConns
)

// errKickGone means the server no longer has the connection: nothing to do.
var errKickGone = errors.New("nats: no such client")

// trackable reports whether the connection of req can be remembered for a
// later kick: a session to revoke, a server id that is a server's public
// key (the kick subject is built from it).
func trackable(sid, server string) bool {
	return sid != "" && nkeys.IsValidPublicServerKey(server)
}

// Revoked ends the NATS connections session sid opened through this node
// (a revocation.Watcher callback: it returns at once, the kick requests run
// in the background, at most maxKicks at a time).
func (c *Callout) Revoked(sid string) {
	for _, ref := range c.conns.take(sid) {
		if c.kicks.Add(1) > maxKicks {
			c.kicks.Add(-1)
			c.kicksFullOnce.Do(func() {
				c.log.Warn("nats callout: too many kicks in flight; a revoked session's connection ends at its expiry instead", "max", maxKicks)
			})
			continue
		}
		go func() {
			defer c.kicks.Add(-1)
			c.kick(ref)
		}()
	}
}

// kick asks ref's server to close it, retrying while the system connection
// is down or the request goes unanswered, until the user JWT ends.
func (c *Callout) kick(ref connRef) {
	wait := kickFirstWait
	for {
		err := c.kickOnce(ref)
		if err == nil || errors.Is(err, errKickGone) {
			c.log.Info("nats callout: kicked a revoked session's connection", "server", ref.server, "cid", ref.cid, "gone", err != nil)
			return
		}
		if !c.cfg.Now().Add(wait).Before(ref.until) {
			c.log.Warn("nats callout: could not kick a revoked session's connection; it ends at its expiry", "server", ref.server, "cid", ref.cid, "until", ref.until, "err", err)
			return
		}
		select {
		case <-c.done:
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, kickMaxWait)
	}
}

// kickOnce sends one kick request and reads the server's answer.
func (c *Callout) kickOnce(ref connRef) error {
	body := fmt.Appendf(nil, `{"cid":%d}`, ref.cid)
	msg, err := c.sys.Request(fmt.Sprintf(kickSubject, ref.server), body, kickTimeout)
	if err != nil {
		return fmt.Errorf("nats: kick: %w", err)
	}
	return kickAnswer(msg.Data)
}

// kickAnswer reads a server API answer to a kick request.
func kickAnswer(data []byte) error {
	var out struct {
		Error *struct {
			Code        int    `json:"code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return fmt.Errorf("nats: kick answer: %w", err)
	}
	switch {
	case out.Error == nil:
		return nil
	case strings.Contains(out.Error.Description, "no such client"):
		return errKickGone
	default:
		return fmt.Errorf("nats: kick: %d %s", out.Error.Code, out.Error.Description)
	}
}

// disconnected forgets a connection NATS tells has ended.
func (c *Callout) disconnected(msg *natsgo.Msg) {
	var ev struct {
		Server struct {
			ID string `json:"id"`
		} `json:"server"`
		Client struct {
			ID uint64 `json:"id"`
		} `json:"client"`
	}
	if err := json.Unmarshal(msg.Data, &ev); err != nil {
		c.log.Debug("nats callout: undecodable disconnect event", "err", err)
		return
	}
	c.conns.remove(ev.Server.ID, ev.Client.ID)
}
