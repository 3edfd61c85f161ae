package realtime

import (
	"context"
	"fmt"
)

// Bind attaches a login session id and/or a user id to the local connection
// c (empty values leave the binding as it is). Revoking sid (the revocation
// list) and TerminateUser(app, userID) then close c. Binding a revoked
// session returns ErrRevoked; the caller should disconnect.
func (h *Hub) Bind(c Conn, sid, userID string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	cs := h.conns[c.ID()]
	if cs == nil || cs.c != c {
		return ErrUnknownConn
	}
	if sid != "" {
		if h.revokedLocked(sid) {
			return ErrRevoked
		}
		h.setSIDLocked(cs, sid)
	}
	if userID != "" && cs.user != userID {
		h.dropUserLocked(cs)
		cs.user = userID
		k := ChannelKey{cs.app, userID}
		m := h.users[k]
		if m == nil {
			m = make(map[string]*connState)
			h.users[k] = m
		}
		m[c.ID()] = cs
	}
	return nil
}

// BindSession tells the node holding connection connID of app that login
// session sid authorised it for channel (/pusher/auth); the news crosses
// nodes through the backplane. The binding takes effect only when the
// socket itself subscribes to that channel (or already has), so that
// revoking sid then closes it. A socket id is all /pusher/auth is given, so
// the first session to authorise a socket owns it: a second, different
// session marks the socket contested and is ignored, as is every later one
// — nobody can bind someone else's socket to their own session and close it
// by logging out. (Socket ids are also never shown to other clients.)
func (h *Hub) BindSession(ctx context.Context, app, connID, channel, sid string) error {
	if sid == "" {
		return nil
	}
	env := Envelope{Kind: KindBindSession, Origin: h.cfg.Node, Message: Message{App: app, Channel: channel}, Conn: connID, SID: sid}
	if err := h.bp.Publish(ctx, env); err != nil {
		return fmt.Errorf("realtime: bind session: %w", err)
	}
	return nil
}

// maxPending bounds the authorisations one socket keeps waiting.
const maxPending = 16

// TerminateUser closes, on every node, the connections of app bound to
// userID.
func (h *Hub) TerminateUser(ctx context.Context, app, userID string) error {
	env := Envelope{Kind: KindTerminateUser, Origin: h.cfg.Node, Message: Message{App: app}, UserID: userID}
	if err := h.bp.Publish(ctx, env); err != nil {
		return fmt.Errorf("realtime: terminate user: %w", err)
	}
	return nil
}

// revokedLocked reports whether sid is revoked. It is asked under h.mu, and
// the list is updated before its subscribers (revokeLocal, which takes
// h.mu) are told: a binding racing a revocation is either refused here or
// closed by revokeLocal.
func (h *Hub) revokedLocked(sid string) bool { return h.revoked.Revoked(sid) }

func (h *Hub) bindRemote(app, connID, channel, sid string) {
	h.mu.Lock()
	cs := h.conns[connID]
	if cs == nil || cs.app != app || cs.contested || cs.sid == sid {
		h.mu.Unlock()
		return
	}
	if h.claimedByOtherLocked(cs, sid) {
		h.log.Warn("realtime: a second session authorised a socket; it stays bound to the first",
			"app", app, "conn", connID)
		cs.contested = true
		cs.pending = nil
		h.mu.Unlock()
		return
	}
	if _, subscribed := cs.subs[channel]; subscribed {
		// The socket subscribed before the news arrived (backplane lag).
		revoked := h.bindLocked(cs, sid)
		h.mu.Unlock()
		if revoked {
			cs.c.Disconnect(ReasonRevoked)
		}
		return
	}
	if cs.pending == nil {
		cs.pending = make(map[string]string)
	}
	if len(cs.pending) >= maxPending {
		for k := range cs.pending {
			delete(cs.pending, k)
			break
		}
	}
	cs.pending[channel] = sid
	h.mu.Unlock()
}

// claimedByOtherLocked reports whether a session other than sid already
// owns cs, bound or waiting.
func (h *Hub) claimedByOtherLocked(cs *connState, sid string) bool {
	if cs.sid != "" && cs.sid != sid {
		return true
	}
	for _, p := range cs.pending {
		if p != sid {
			return true
		}
	}
	return false
}

// applyPendingLocked binds cs to the session that authorised channel, now
// that cs subscribed to it. It reports whether that session is revoked (the
// caller disconnects).
func (h *Hub) applyPendingLocked(cs *connState, channel string) (revoked bool) {
	sid, ok := cs.pending[channel]
	if !ok || cs.contested {
		return false
	}
	delete(cs.pending, channel)
	return h.bindLocked(cs, sid)
}

// bindLocked binds cs to sid unless sid is revoked.
func (h *Hub) bindLocked(cs *connState, sid string) (revoked bool) {
	if h.revokedLocked(sid) {
		return true
	}
	h.setSIDLocked(cs, sid)
	return false
}

// revokeLocal closes this node's connections bound to sid; the revocation
// list calls it as sid becomes revoked.
func (h *Hub) revokeLocal(sid string) {
	h.mu.Lock()
	victims := make([]Conn, 0, len(h.sids[sid]))
	for _, cs := range h.sids[sid] {
		victims = append(victims, cs.c)
	}
	h.mu.Unlock()
	for _, c := range victims {
		c.Disconnect(ReasonRevoked)
	}
}

func (h *Hub) terminateLocal(app, userID string) {
	h.mu.RLock()
	m := h.users[ChannelKey{app, userID}]
	victims := make([]Conn, 0, len(m))
	for _, cs := range m {
		victims = append(victims, cs.c)
	}
	h.mu.RUnlock()
	for _, c := range victims {
		c.Disconnect(ReasonTerminated)
	}
}

func (h *Hub) setSIDLocked(cs *connState, sid string) {
	if cs.sid == sid {
		return
	}
	h.dropSIDLocked(cs)
	cs.sid = sid
	m := h.sids[sid]
	if m == nil {
		m = make(map[string]*connState)
		h.sids[sid] = m
	}
	m[cs.c.ID()] = cs
}

func (h *Hub) dropSIDLocked(cs *connState) {
	if cs.sid == "" {
		return
	}
	if m := h.sids[cs.sid]; m != nil {
		delete(m, cs.c.ID())
		if len(m) == 0 {
			delete(h.sids, cs.sid)
		}
	}
	cs.sid = ""
}

func (h *Hub) dropUserLocked(cs *connState) {
	if cs.user == "" {
		return
	}
	k := ChannelKey{cs.app, cs.user}
	if m := h.users[k]; m != nil {
		delete(m, cs.c.ID())
		if len(m) == 0 {
			delete(h.users, k)
		}
	}
	cs.user = ""
}

func (h *Hub) unbindLocked(cs *connState) {
	h.dropSIDLocked(cs)
	h.dropUserLocked(cs)
}
