package main

import (
	"fmt"

	"gatehouse/policy"
)

// demoPolicyGaps says what the demo chat cannot do under the operator's
// policy: it runs in demoChannel, where visitors subscribe (presence) and
// publish client events. The policy is never widened for it; the operator
// is told instead.
func demoPolicyGaps(pol *policy.Engine) []string {
	var gaps []string
	for _, who := range []struct {
		name string
		id   policy.Identity
	}{
		{"anonymous visitors", policy.Identity{Subject: "anon:demo", Anonymous: true}},
		{"logged-in visitors", policy.Identity{Subject: "demo", Name: "demo"}},
	} {
		g := pol.Grants(who.id.Normalize())
		switch {
		case !g.CanSubscribe(demoChannel):
			gaps = append(gaps, fmt.Sprintf("the policy does not let %s subscribe to %s: the demo chat will not work for them", who.name, demoChannel))
		case !g.CanPublish(demoChannel):
			gaps = append(gaps, fmt.Sprintf("the policy does not let %s publish to %s: they can read the demo chat but not write", who.name, demoChannel))
		}
	}
	return gaps
}
