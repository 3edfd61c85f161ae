package rtbench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// results is every Result read, grouped by server, servers in order of
// first appearance.
type results struct {
	order []string
	by    map[string][]Result
}

// readResults reads Results, one JSON object a line.
func readResults(r io.Reader) (*results, error) {
	rs := &results{by: map[string][]Result{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var res Result
		if err := json.Unmarshal([]byte(line), &res); err != nil {
			return nil, fmt.Errorf("rtbench: results: %w", err)
		}
		if _, ok := rs.by[res.Name]; !ok {
			rs.order = append(rs.order, res.Name)
		}
		rs.by[res.Name] = append(rs.by[res.Name], res)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(rs.order) == 0 {
		return nil, fmt.Errorf("rtbench: results: none")
	}
	return rs, nil
}

// median is the median over name's rounds of f.
func (rs *results) median(name string, f func(Result) float64) float64 {
	var v []float64
	for _, r := range rs.by[name] {
		v = append(v, f(r))
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// Summarize reads Results, one JSON object a line, and writes a Markdown
// table of the median of each figure per server, servers in order of first
// appearance, with the number of rounds behind each median.
func Summarize(r io.Reader, w io.Writer) error {
	rs, err := readResults(r)
	if err != nil {
		return err
	}
	order, by := rs.order, rs.by
	med := rs.median
	rng := func(name string, f func(Result) float64, format string) string {
		var v []float64
		for _, r := range by[name] {
			v = append(v, f(r))
		}
		if len(v) < 2 {
			return ""
		}
		return " (" + fmt.Sprintf(format, slices.Min(v)) + "–" + fmt.Sprintf(format, slices.Max(v)) + ")"
	}
	first := by[order[0]][0]
	fmt.Fprintf(w, "| figure (median of rounds, range) |")
	for _, n := range order {
		fmt.Fprintf(w, " %s |", n)
	}
	fmt.Fprintf(w, "\n|---|")
	for range order {
		fmt.Fprintf(w, "---:|")
	}
	fmt.Fprintln(w)
	fig := func(key string) func(Result) float64 { f, _ := figureByKey(key); return f.f }
	rows := []struct {
		label  string
		f      func(Result) float64
		format string
	}{
		{fmt.Sprintf("RSS per idle socket at %d sockets, KiB", first.Conns), fig("rss"), "%.1f"},
		{"RSS per socket after the fan-out runs, KiB", func(r Result) float64 { return r.AfterRSSPerConn / 1024 }, "%.1f"},
		{"server CPU per delivered message, µs", fig("cpu"), "%.1f"},
		{fmt.Sprintf("delivery latency p50 to %d subscribers, ms", first.Subscribers), fig("p50"), "%.1f"},
		{fmt.Sprintf("delivery latency p99 to %d subscribers, ms", first.Subscribers), fig("p99"), "%.1f"},
		{"fan-out spread (first to last delivery of one event), median, ms", func(r Result) float64 { return r.SpreadMS }, "%.1f"},
		{"deliveries per WebSocket message in the CPU run", func(r Result) float64 { return float64(r.CPUDeliveries) / max(1, float64(r.CPUMessages)) }, "%.2f"},
		{"client CPU per delivered message (same client for all), µs", func(r Result) float64 { return r.ClientCPUPerDeliveryUS }, "%.1f"},
		{"server CPU per delivery in the latency run (one event at a time), µs", func(r Result) float64 { return r.LatencyCPUPerDeliveryUS }, "%.1f"},
		{"baseline RSS, MiB", func(r Result) float64 { return float64(r.BaselineRSS) / (1 << 20) }, "%.1f"},
		{"time to open and subscribe all sockets, s", func(r Result) float64 { return r.ConnectSeconds }, "%.1f"},
	}
	for _, row := range rows {
		fmt.Fprintf(w, "| %s |", row.label)
		for _, n := range order {
			fmt.Fprintf(w, " "+row.format+"%s |", med(n, row.f), rng(n, row.f, row.format))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "| rounds |")
	for _, n := range order {
		fmt.Fprintf(w, " %d |", len(by[n]))
	}
	fmt.Fprintln(w)
	rs.rounds(w)
	return nil
}

// rounds writes the headline figures round by round (a server's i-th
// result is its round i), servers in the table's order.
func (rs *results) rounds(w io.Writer) {
	n := 0
	for _, name := range rs.order {
		n = max(n, len(rs.by[name]))
	}
	fmt.Fprintf(w, "\nRound by round (%s):\n\n| round |", strings.Join(rs.order, " / "))
	for _, fig := range figures {
		fmt.Fprintf(w, " %s, %s |", fig.name, fig.unit)
	}
	fmt.Fprintf(w, "\n|---|")
	for range figures {
		fmt.Fprintf(w, "---:|")
	}
	fmt.Fprintln(w)
	for i := range n {
		fmt.Fprintf(w, "| %d |", i+1)
		for _, fig := range figures {
			var vals []string
			for _, name := range rs.order {
				if i < len(rs.by[name]) {
					vals = append(vals, fmt.Sprintf(fig.format, fig.f(rs.by[name][i])))
				} else {
					vals = append(vals, "–")
				}
			}
			fmt.Fprintf(w, " %s |", strings.Join(vals, " / "))
		}
		fmt.Fprintln(w)
	}
}
