package rtbench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Summarize reads Results, one JSON object a line, and writes a Markdown
// table of the median of each figure per server, servers in order of first
// appearance, with the number of rounds behind each median.
func Summarize(r io.Reader, w io.Writer) error {
	var order []string
	by := map[string][]Result{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var res Result
		if err := json.Unmarshal([]byte(line), &res); err != nil {
			return fmt.Errorf("rtbench: summary: %w", err)
		}
		if _, ok := by[res.Name]; !ok {
			order = append(order, res.Name)
		}
		by[res.Name] = append(by[res.Name], res)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(order) == 0 {
		return fmt.Errorf("rtbench: summary: no results")
	}
	med := func(name string, f func(Result) float64) float64 {
		var v []float64
		for _, r := range by[name] {
			v = append(v, f(r))
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
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
	rows := []struct {
		label  string
		f      func(Result) float64
		format string
	}{
		{fmt.Sprintf("RSS per idle socket at %d sockets, KiB", first.Conns), func(r Result) float64 { return r.RSSPerConn / 1024 }, "%.1f"},
		{"RSS per socket after the fan-out runs, KiB", func(r Result) float64 { return r.AfterRSSPerConn / 1024 }, "%.1f"},
		{"server CPU per delivered message, µs", func(r Result) float64 { return r.CPUPerDeliveryUS }, "%.1f"},
		{fmt.Sprintf("delivery latency p50 to %d subscribers, ms", first.Subscribers), func(r Result) float64 { return r.P50MS }, "%.1f"},
		{fmt.Sprintf("delivery latency p99 to %d subscribers, ms", first.Subscribers), func(r Result) float64 { return r.P99MS }, "%.1f"},
		{"fan-out spread (first to last delivery of one event), median, ms", func(r Result) float64 { return r.SpreadMS }, "%.1f"},
		{"client CPU per delivered message (same client for both), µs", func(r Result) float64 { return r.ClientCPUPerDeliveryUS }, "%.1f"},
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
	return nil
}
