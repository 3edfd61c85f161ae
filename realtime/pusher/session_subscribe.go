package pusher

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"gatehouse/pusherproto"
	"gatehouse/realtime"
)

// maxChannelData bounds a presence member's channel_data.
const maxChannelData = 2048

type subscribeData struct {
	Channel     string `json:"channel"`
	Auth        string `json:"auth"`
	ChannelData string `json:"channel_data"`
}

func (ss *session) subscribe(ctx context.Context, raw []byte) {
	var d subscribeData
	if err := json.Unmarshal(raw, &d); err != nil || d.Channel == "" {
		ss.sendError(0, "Invalid subscribe data")
		return
	}
	ch := d.Channel
	if len(ch) > pusherproto.MaxChannelNameLen {
		ss.subscriptionError(ch, "LimitReachedError", "The channel name is longer than the allowed 200 characters.", 4009)
		return
	}
	if !validChannel(ch) {
		ss.subscriptionError(ch, "InvalidChannelError", "The channel name is not valid.", 4009)
		return
	}
	var member *realtime.Member
	switch t := pusherproto.TypeOf(ch); {
	case t == pusherproto.ServerToUser || t == pusherproto.Server:
		if t != pusherproto.ServerToUser || ss.user == "" || ch[len(pusherproto.PrefixServerToUser):] != ss.user {
			ss.authError(ch)
			return
		}
	case t == pusherproto.Encrypted && len(ss.app.EncryptionMasterKey) == 0:
		ss.subscriptionError(ch, "AuthError", "Encrypted channels are not enabled for this app.", 401)
		return
	case t == pusherproto.Presence:
		if !pusherproto.VerifyChannelAuth(ss.app.Key, ss.app.Secret, ss.id, ch, d.ChannelData, d.Auth) {
			ss.authError(ch)
			return
		}
		if len(d.ChannelData) > maxChannelData {
			ss.subscriptionError(ch, "LimitReachedError", "The channel_data is larger than the allowed 2 KB.", 4009)
			return
		}
		m, ok := parseMember(d.ChannelData)
		if !ok {
			ss.authError(ch)
			return
		}
		member = &m
	case t.IsPrivate():
		if !pusherproto.VerifyChannelAuth(ss.app.Key, ss.app.Secret, ss.id, ch, "", d.Auth) {
			ss.authError(ch)
			return
		}
	case t == pusherproto.Public && !ss.srv.cfg.PublicSubscribe(ch):
		// No credential comes with a public subscribe: what the policy
		// lets an anonymous caller read is what a public channel is.
		ss.authError(ch)
		return
	}
	// An anonymous member (a fresh identity per authorization) counts
	// against its address's share of the channel.
	var releaseAnon func()
	if _, held := ss.presence[ch]; member != nil && !held && strings.HasPrefix(member.UserID, anonymousPrefix) {
		release, err := ss.srv.hub.AdmitAnonymousPresence(realtime.ChannelKey{App: ss.app.ID, Channel: ch}, ss.ip)
		if err != nil {
			ss.subscriptionError(ch, "LimitReachedError", "Too many anonymous members from this address", 4100)
			return
		}
		releaseAnon = release
	}
	err := ss.srv.hub.Subscribe(ctx, ss, ch, member, func(res realtime.SubscribeResult) {
		ss.ws.SendText(eventJSON("pusher_internal:subscription_succeeded", ch, succeededData(member, res)))
		switch {
		case res.Cached != nil:
			ss.ws.SendText(eventJSON(res.Cached.Name, ch, res.Cached.Data))
		case res.CacheMiss:
			ss.ws.SendText([]byte(`{"event":"pusher:cache_miss","channel":` + string(appendString(nil, ch)) + `}`))
		}
	})
	if err != nil && releaseAnon != nil {
		releaseAnon()
	}
	switch {
	case err == nil:
		if member != nil {
			if ss.presence == nil {
				ss.presence = make(map[string]string)
			}
			ss.presence[ch] = member.UserID
		}
		if releaseAnon != nil {
			ss.keepAnonPresence(ch, releaseAnon)
		}
	case errors.Is(err, realtime.ErrPresenceFull):
		ss.subscriptionError(ch, "LimitReachedError", "The maximum members per presence channel limit was reached", 4100)
	case errors.Is(err, realtime.ErrTooManyChannels):
		ss.subscriptionError(ch, "LimitReachedError", "The maximum channels per connection limit was reached", 4100)
	default:
		ss.srv.log.WarnContext(ctx, "pusher: subscribe", "app", ss.app.ID, "channel", ch, "err", err)
		ss.subscriptionError(ch, "ServerError", "The subscription could not be completed.", 500)
	}
}

func (ss *session) authError(ch string) {
	ss.subscriptionError(ch, "AuthError", "The connection is unauthorized.", 401)
}

// parseMember reads channel_data: user_id (string or number) is required,
// user_info is kept as given.
func parseMember(channelData string) (realtime.Member, bool) {
	var cd struct {
		UserID   json.RawMessage `json:"user_id"`
		UserInfo json.RawMessage `json:"user_info"`
	}
	if err := json.Unmarshal([]byte(channelData), &cd); err != nil {
		return realtime.Member{}, false
	}
	id := userIDString(cd.UserID)
	if id == "" {
		return realtime.Member{}, false
	}
	info := bytes.TrimSpace(cd.UserInfo)
	if bytes.Equal(info, []byte("null")) {
		info = nil
	}
	return realtime.Member{UserID: id, UserInfo: info}, true
}

// userIDString accepts a JSON string or number as a user id.
func userIDString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		return ""
	}
	return n.String()
}

// succeededData renders the data of pusher_internal:subscription_succeeded.
func succeededData(member *realtime.Member, res realtime.SubscribeResult) string {
	if member == nil {
		return "{}"
	}
	ids := make([]byte, 0, 16*len(res.Members))
	hash := make([]byte, 0, 64*len(res.Members))
	for i, m := range res.Members {
		if i > 0 {
			ids = append(ids, ',')
			hash = append(hash, ',')
		}
		ids = appendString(ids, m.UserID)
		hash = appendString(hash, m.UserID)
		hash = append(hash, ':')
		if len(m.UserInfo) > 0 {
			hash = append(hash, m.UserInfo...)
		} else {
			hash = append(hash, "null"...)
		}
	}
	return `{"presence":{"ids":[` + string(ids) + `],"hash":{` + string(hash) + `},"count":` + strconv.Itoa(len(res.Members)) + `}}`
}

type unsubscribeData struct {
	Channel string `json:"channel"`
}

func (ss *session) unsubscribe(ctx context.Context, raw []byte) {
	var d unsubscribeData
	if err := json.Unmarshal(raw, &d); err != nil || d.Channel == "" {
		return
	}
	ss.srv.hub.Unsubscribe(ctx, ss, d.Channel)
	delete(ss.presence, d.Channel)
	ss.releaseAnonPresence(d.Channel)
}

// anonymousPrefix starts the user id of every anonymous identity.
const anonymousPrefix = "anon:"
