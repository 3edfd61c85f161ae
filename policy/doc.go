// Package policy turns an Identity into Grants: the channel (topic) patterns
// the identity may subscribe to and publish on. One policy decides for every
// front: minted tokens, the deepstream webhook, Pusher channel authorization
// and both hosted realtime protocols.
//
// A Config holds an anonymous rule and a list of rules. Each Rule has a
// Condition ("when") and the patterns it grants. Anonymous identities get the
// anonymous rule's patterns plus those of every rule whose conditions hold;
// authenticated identities get those of every rule whose conditions hold. All
// conditions of a rule must hold, and a rule with an empty condition matches
// every identity, anonymous ones included. Grants add up across rules,
// without duplicates, in the order the rules and patterns are written.
//
// # Patterns
//
// In a pattern, `*` matches any run of characters, the empty run included;
// every other character stands for itself. Patterns may contain templates
// that expand to the caller's values:
//
//	{sub}          the identity's subject
//	{name}         its display name
//	{email}        its e-mail address
//	{provider}     the provider it logged in with
//	{claim.a.b}    the claim at dotted path a.b (see Identity.Claim)
//
// An expanded value is escaped with EscapeValue first, so it can neither
// widen a pattern (a subject of "*" becomes "=2A") nor leave the Pusher
// channel-name alphabet. A template whose value is missing or empty drops the
// whole pattern; it never expands to the empty string. A claim holding an
// array expands the pattern once per element (an array claim in two
// templates gives every combination); a pattern that would expand to more
// than MaxExpansions names is dropped rather than truncated.
//
// Values are escaped but the pattern around them is not, so a pattern with
// both a template and a `*` can reach another identity's names:
// "user-{sub}-*" granted to subject "ann" matches "user-ann-x-1", which is
// also under "user-ann-x-*", the grant of subject "ann-x". Keep `*` out of
// patterns whose template must keep identities apart ("user-{sub}").
//
// # Permission strings
//
// Grants travel in tokens as permission strings of the form used by the
// realtime-pubsub-client npm package and its hosted service:
//
//	realtime:subscriber:read:topic:<pattern>
//	realtime:publisher:write:topic:<pattern>
//
// Grants.Permissions writes them, ParsePermissions and ParseScope read them,
// and Grants.Narrow intersects a requested scope with what the policy grants.
//
// The package is pure: no I/O, no clock, no global state, and it imports
// nothing outside the standard library.
package policy
