package topics

import (
	"context"
	"errors"
	"slices"

	"gatehouse/authn"
)

var errOtherIdentity = errors.New("topics: refresh token is for another subject or session")

// refresh handles {"type":"refresh","data":{"access_token"}}: a token that
// verifies, for the same sub and sid as the connection's, replaces the
// connection's permissions and pushes its expiry out. Subscriptions the new
// permissions no longer cover end, each reported on priv/errors. A refused
// refresh changes nothing: the connection still closes when the old token
// expires. The answer is a main/refreshed frame, plus an ack when the frame
// carries an id.
func (ss *session) refresh(ctx context.Context, f frame) {
	tok, err := ss.srv.checkToken(ctx, ss.app, authn.AuthKey, f.AccessToken)
	if err == nil && (tok.sub != ss.tok.sub || tok.sid != ss.tok.sid) {
		err = errOtherIdentity
	}
	if err != nil {
		ss.srv.log.InfoContext(ctx, "topics: refresh refused", "app", ss.app, "conn", ss.id, "err", err)
		ss.sendError(&protoError{Code: errInvalidToken, Message: "the access token is invalid, expired, revoked or for someone else", ID: f.ID})
		return
	}
	ss.setToken(tok)
	kept := ss.subs[:0]
	var lost []string
	for _, t := range ss.subs {
		if tok.grants.CanSubscribe(t) {
			kept = append(kept, t)
		} else {
			lost = append(lost, t)
		}
	}
	ss.subs = slices.Clip(kept)
	for _, t := range lost {
		ss.srv.hub.Unsubscribe(ctx, ss, t)
		ss.sendError(&protoError{Code: errSubscriptionLost, Message: "the new token does not grant this subscription", Topic: t})
	}
	ss.ws.SendText(refreshedJSON(ss.id, tok.grants.Permissions(), tok.exp/1e9))
	ss.ack(f.ID)
}
