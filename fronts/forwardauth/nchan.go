package forwardauth

import (
	"net/http"
	"strings"

	"gatehouse/pusherproto"
)

// nchan answers Nchan's authorize subrequest: the channel comes in
// X-Channel-Id, and the request publishes when nginx says so
// (X-Publisher-Type, set from $nchan_publisher_type) or when the original
// method (X-Original-Method) is one that publishes; otherwise it
// subscribes. 204 when the policy allows, 403 when it does not, 401 for a
// credential that does not verify.
func (f *Front) nchan(w http.ResponseWriter, r *http.Request, _ string) {
	channel := r.Header.Get("X-Channel-Id")
	if channel == "" || len(channel) > 200 || !pusherproto.ValidChannelName(channel) {
		f.metrics.Decision("nchan", "deny")
		f.log.InfoContext(r.Context(), "nchan authorize: missing or invalid X-Channel-Id", "channel", channel)
		w.WriteHeader(http.StatusForbidden)
		return
	}
	caller, err := f.resolve.Request(r, f.cfg.Anonymous)
	if err != nil {
		f.metrics.Decision("nchan", "deny")
		f.log.InfoContext(r.Context(), "nchan authorize: no valid credential", "err", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	publish := r.Header.Get("X-Publisher-Type") != ""
	switch strings.ToUpper(r.Header.Get("X-Original-Method")) {
	case http.MethodPost, http.MethodPut, http.MethodDelete:
		publish = true
	}
	allowed := caller.Grants.CanSubscribe(channel)
	what := "subscribe"
	if publish {
		allowed, what = caller.Grants.CanPublish(channel), "publish"
	}
	if !allowed {
		f.metrics.Decision("nchan", "deny")
		f.log.InfoContext(r.Context(), "nchan authorize: denied", "sub", caller.Identity.Subject, "channel", channel, "action", what)
		w.WriteHeader(http.StatusForbidden)
		return
	}
	f.metrics.Decision("nchan", "allow")
	w.WriteHeader(http.StatusNoContent)
}
