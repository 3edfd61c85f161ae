package rtbench

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// figure is one figure of a Result the regression check knows; lower is
// better for each.
type figure struct {
	key, name, unit string
	format          string
	f               func(Result) float64
}

// figures are the headline figures, by the keys Led uses.
var figures = []figure{
	{"rss", "RSS per idle socket", "KiB", "%.2f", func(r Result) float64 { return r.RSSPerConn / 1024 }},
	{"cpu", "server CPU per delivered message", "µs", "%.1f", func(r Result) float64 { return r.CPUPerDeliveryUS }},
	{"p50", "delivery latency p50", "ms", "%.1f", func(r Result) float64 { return r.P50MS }},
	{"p99", "delivery latency p99", "ms", "%.1f", func(r Result) float64 { return r.P99MS }},
}

func figureByKey(key string) (figure, bool) {
	i := slices.IndexFunc(figures, func(f figure) bool { return f.key == key })
	if i < 0 {
		return figure{}, false
	}
	return figures[i], true
}

// Led is, per peer, the figures (rss, cpu, p50, p99) one server led that
// peer on in a recorded table: the ones it must not fall behind on.
type Led map[string][]string

// ParseLed reads "peer:fig,fig peer:fig", e.g.
// "soketi:rss,cpu,p50,p99 centrifugo:rss,cpu"; an empty string is no
// figures at all.
func ParseLed(s string) (Led, error) {
	led := Led{}
	for _, part := range strings.Fields(s) {
		peer, list, ok := strings.Cut(part, ":")
		if !ok || peer == "" || list == "" {
			return nil, fmt.Errorf("rtbench: led %q: want peer:figure,figure", part)
		}
		for _, key := range strings.Split(list, ",") {
			if _, ok := figureByKey(key); !ok {
				return nil, fmt.Errorf("rtbench: led %q: unknown figure %q (want rss, cpu, p50 or p99)", part, key)
			}
			if !slices.Contains(led[peer], key) {
				led[peer] = append(led[peer], key)
			}
		}
	}
	return led, nil
}

// Verdict is the outcome of one comparison of Check.
type Verdict struct {
	Peer, Figure     string
	Lead, PeerMedian float64 // the two medians
	Behind           bool    // lead worse than peer by more than the tolerance
	Missing          bool    // peer (or lead) not in the results: not compared
	Line             string  // what was compared, for people
}

// Check reads Results, one JSON object a line, and compares lead's median
// with each peer's on each figure led lists for that peer: lead is behind
// when its median is worse than the peer's by more than tolerance (0.05 is
// 5 %). A peer that is not in the results is reported as missing, not as
// behind. Verdicts come in peer order, figures in led's order.
func Check(r io.Reader, lead string, led Led, tolerance float64) ([]Verdict, error) {
	rs, err := readResults(r)
	if err != nil {
		return nil, err
	}
	peers := make([]string, 0, len(led))
	for p := range led {
		peers = append(peers, p)
	}
	sort.Strings(peers)
	var out []Verdict
	for _, peer := range peers {
		for _, key := range led[peer] {
			fig, _ := figureByKey(key)
			v := Verdict{Peer: peer, Figure: key}
			if len(rs.by[lead]) == 0 || len(rs.by[peer]) == 0 {
				v.Missing = true
				v.Line = fmt.Sprintf("%s vs %s, %s: not compared, %s not in this run", lead, peer, fig.name, missing(rs, lead, peer))
				out = append(out, v)
				continue
			}
			v.Lead, v.PeerMedian = rs.median(lead, fig.f), rs.median(peer, fig.f)
			v.Behind = v.Lead > v.PeerMedian*(1+tolerance)
			state := "ok"
			if v.Behind {
				state = fmt.Sprintf("BEHIND by more than %.0f %%", tolerance*100)
			}
			v.Line = fmt.Sprintf("%s vs %s, %s: "+fig.format+" vs "+fig.format+" %s (%+.1f %%): %s",
				lead, peer, fig.name, v.Lead, v.PeerMedian, fig.unit, (v.Lead/v.PeerMedian-1)*100, state)
			out = append(out, v)
		}
	}
	return out, nil
}

func missing(rs *results, lead, peer string) string {
	if len(rs.by[lead]) == 0 {
		return lead
	}
	return peer
}
