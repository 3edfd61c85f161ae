package rtbench_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	rtbench "gatehouse/bench/realtime"
)

// resultsFile is Results as JSON lines, as scripts/bench-realtime.sh
// collects them.
func resultsFile(t *testing.T, rs ...rtbench.Result) *bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	for _, r := range rs {
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(line, '\n'))
	}
	return &b
}

func res(name string, rssKiB, cpu, p50, p99 float64) rtbench.Result {
	return rtbench.Result{Name: name, Conns: 100, Subscribers: 10, RSSPerConn: rssKiB * 1024, CPUPerDeliveryUS: cpu, P50MS: p50, P99MS: p99}
}

func TestCheck(t *testing.T) {
	// Three rounds each; the medians are gatehouse 3/8/10/30,
	// soketi 4/10/12/28, centrifugo 40/7.7/20/42.
	rounds := []rtbench.Result{
		res("gatehouse", 3, 8, 10, 30), res("soketi", 4, 10, 12, 28), res("centrifugo", 40, 7.7, 20, 42),
		res("gatehouse", 2.9, 7, 11, 25), res("soketi", 4.2, 9, 12.5, 27), res("centrifugo", 41, 7.6, 19, 40),
		res("gatehouse", 3.1, 9, 9, 99), res("soketi", 3.9, 11, 11, 29), res("centrifugo", 39, 7.8, 21, 50),
	}
	cases := []struct {
		name      string
		led       string
		tolerance float64  // 0.05 when 0
		behind    []string // peer/figure
		missing   []string
	}{
		{name: "ahead or level everywhere led", led: "soketi:rss,cpu,p50 centrifugo:rss,cpu,p50,p99"},
		{name: "p99 behind soketi by 7 %", led: "soketi:rss,cpu,p50,p99", behind: []string{"soketi/p99"}},
		{name: "cpu 3.9 % behind centrifugo is within 5 %", led: "centrifugo:cpu"},
		{name: "cpu 3.9 % behind centrifugo is behind at 2 %", led: "centrifugo:cpu", tolerance: 0.02, behind: []string{"centrifugo/cpu"}},
		{name: "figures not led are not checked", led: "soketi:rss"},
		{name: "no figures", led: ""},
		{name: "peer not in the run", led: "nchan:p99 soketi:p99", behind: []string{"soketi/p99"}, missing: []string{"nchan/p99"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			led, err := rtbench.ParseLed(tc.led)
			if err != nil {
				t.Fatal(err)
			}
			tol := tc.tolerance
			if tol == 0 {
				tol = 0.05
			}
			vs, err := rtbench.Check(resultsFile(t, rounds...), "gatehouse", led, tol)
			if err != nil {
				t.Fatal(err)
			}
			var behind, missing []string
			for _, v := range vs {
				if v.Behind {
					behind = append(behind, v.Peer+"/"+v.Figure)
				}
				if v.Missing {
					missing = append(missing, v.Peer+"/"+v.Figure)
				}
				if !strings.Contains(v.Line, v.Peer) || (v.Behind != strings.Contains(v.Line, "BEHIND")) {
					t.Errorf("line %q does not tell %+v", v.Line, v)
				}
			}
			want := 0
			for _, keys := range led {
				want += len(keys)
			}
			if len(vs) != want {
				t.Errorf("%d verdicts, want one per led figure (%d)", len(vs), want)
			}
			if strings.Join(behind, " ") != strings.Join(tc.behind, " ") || strings.Join(missing, " ") != strings.Join(tc.missing, " ") {
				t.Errorf("behind %v missing %v, want %v and %v", behind, missing, tc.behind, tc.missing)
			}
		})
	}
}

func TestParseLedRefuses(t *testing.T) {
	for _, s := range []string{"soketi", "soketi:", ":rss", "soketi:rss,latency", "soketi:RSS"} {
		if _, err := rtbench.ParseLed(s); err == nil {
			t.Errorf("ParseLed(%q) accepted", s)
		}
	}
}

func TestSummarizeRounds(t *testing.T) {
	var table bytes.Buffer
	err := rtbench.Summarize(resultsFile(t,
		res("gatehouse", 3, 8, 10, 30), res("soketi", 4, 10, 12, 28), res("centrifugo", 40, 7.7, 20, 42),
		res("gatehouse", 2.9, 7, 11, 25), res("soketi", 4.2, 9, 12.5, 27), res("centrifugo", 41, 8.2, 19, 40),
	), &table)
	if err != nil {
		t.Fatal(err)
	}
	out := table.String()
	for _, want := range []string{
		"| gatehouse | soketi | centrifugo |",
		"| RSS per idle socket at 100 sockets, KiB | 3.0 (2.9–3.0) | 4.1 (4.0–4.2) | 40.5 (40.0–41.0) |",
		"| rounds | 2 | 2 | 2 |",
		"Round by round (gatehouse / soketi / centrifugo)",
		"| 2 | 2.90 / 4.20 / 41.00 | 7.0 / 9.0 / 8.2 | 11.0 / 12.5 / 19.0 | 25.0 / 27.0 / 40.0 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}
