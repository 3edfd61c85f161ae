// Package pusherauth answers pusher-js's channel authorization
// (POST /pusher/auth: private, presence and private-encrypted channels) and
// user authentication (POST /pusher/user-auth, pusher:signin): the Pusher
// wire format and nothing else. It asks authn who the caller is (a Bearer
// token, else the session cookie from a configured origin, else a fresh
// anonymous identity when allowed), the policy whether the channel is
// granted, and signs with pusherproto.
//
// It follows the pattern every front does (see fronts/deepstream):
// New(Config, deps...) takes every dependency, Routes() declares the
// endpoints as net/http handlers, refusals are JSON errors with generic
// descriptions.
package pusherauth
