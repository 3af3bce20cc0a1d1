package bench

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestParseThresholds: what each accepted condition means, spaces and
// every operator included.
func TestParseThresholds(t *testing.T) {
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	for _, c := range []struct {
		expr string
		want []Threshold
	}{
		{"p99<50ms", []Threshold{{Figure: "p99", Op: OpLess, Limit: 50_000, Duration: 50 * time.Millisecond}}},
		{"p99<50ms,lost=0,errors=0", []Threshold{
			{Figure: "p99", Op: OpLess, Limit: 50_000, Duration: 50 * time.Millisecond},
			{Figure: "lost", Op: OpEqual, Limit: 0},
			{Figure: "errors", Op: OpEqual, Limit: 0},
		}},
		{" p50 <= 1.5ms , max>=2s ", []Threshold{
			{Figure: "p50", Op: OpLessEq, Limit: 1500, Duration: 1500 * time.Microsecond},
			{Figure: "max", Op: OpGreaterEq, Limit: 2e6, Duration: 2 * time.Second},
		}},
		{"p999>200us", []Threshold{{Figure: "p999", Op: OpGreater, Limit: 200, Duration: 200 * time.Microsecond}}},
		{"p90<200µs", []Threshold{{Figure: "p90", Op: OpLess, Limit: 200, Duration: 200 * time.Microsecond}}},
		{"connect_p99<1m30s", []Threshold{{Figure: "connect_p99", Op: OpLess, Limit: us(90 * time.Second), Duration: 90 * time.Second}}},
		{"p99<1ns", []Threshold{{Figure: "p99", Op: OpLess, Limit: 0.001, Duration: 1}}},
		{"p99>0", []Threshold{{Figure: "p99", Op: OpGreater, Limit: 0, Duration: 0}}},
		{"opened!=0", []Threshold{{Figure: "opened", Op: OpNotEqual, Limit: 0}}},
		{"opened==1000", []Threshold{{Figure: "opened", Op: OpEqual, Limit: 1000}}},
		{"deliveries_per_sec>=9.5e4", []Threshold{{Figure: "deliveries_per_sec", Op: OpGreaterEq, Limit: 95_000}}},
		{"cpu_per_delivery_us<1.25", []Threshold{{Figure: "cpu_per_delivery_us", Op: OpLess, Limit: 1.25}}},
		{"failed<=-1", []Threshold{{Figure: "failed", Op: OpLessEq, Limit: -1}}},
	} {
		got, err := ParseThresholds(c.expr)
		if err != nil {
			t.Errorf("%q: %v", c.expr, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", c.expr, got, c.want)
		}
	}
}

// TestParseThresholdsErrors: each refusal says what is wrong.
func TestParseThresholdsErrors(t *testing.T) {
	for _, c := range []struct{ expr, err string }{
		{"", "empty: want conditions"},
		{"  ", "empty: want conditions"},
		{"p99<50ms,", "empty condition"},
		{",p99<50ms", "empty condition"},
		{"p99<50ms,,lost=0", "empty condition"},
		{"p99", "no operator"},
		{"p99 50ms", "no operator"},
		{"p99=<50ms", "p99 is a duration"},
		{"p99=>50ms", "p99 is a duration"},
		{"p99!50ms", "bad operator"},
		{"p99<>50ms", "p99 is a duration"},
		{"p99<50", "p99 is a duration: want a limit such as 50ms"},
		{"p99<-5ms", "p99 is a duration"},
		{"p99<", "p99 is a duration"},
		{"p99<fast", "p99 is a duration"},
		{"P99<50ms", `unknown figure "P99"`},
		{"p99.9<50ms", `unknown figure "p99.9"`},
		{"latency<50ms", `unknown figure "latency"; figures: p50 p90 p99`},
		{"<50ms", `unknown figure ""`},
		{"lost=", "want a number after ="},
		{"lost=none", "want a number after ="},
		{"lost=5ms", "want a number after ="},
		{"lost=NaN", "want a number after ="},
		{"lost<Inf", "want a number after <"},
		{"lost<1e400", "want a number after <"},
		{"lost=0 0", "want a number after ="},
		{strings.Repeat("lost=0,", MaxThresholds) + "lost=0", "more than 64 conditions"},
		{strings.Repeat(" ", MaxThresholdBytes+1), "4097 bytes, at most 4096"},
	} {
		got, err := ParseThresholds(c.expr)
		if err == nil || !strings.Contains(err.Error(), c.err) || !strings.HasPrefix(err.Error(), "fail-if: ") {
			t.Errorf("%q: %+v, err %v; want an error saying %q", c.expr, got, err, c.err)
		}
	}
	if _, err := ParseThresholds(strings.TrimSuffix(strings.Repeat("lost=0,", MaxThresholds), ",")); err != nil {
		t.Errorf("%d conditions: %v", MaxThresholds, err)
	}
}

// TestThresholdString: a condition prints back as an expression that
// parses to it.
func TestThresholdString(t *testing.T) {
	for _, c := range []struct{ expr, text string }{
		{"p99 < 50ms", "p99<50ms"},
		{"p99<1500us", "p99<1.5ms"},
		{"lost == 0", "lost=0"},
		{"deliveries_per_sec>=9.5e4", "deliveries_per_sec>=95000"},
		{"cpu_per_delivery_us!=0.125", "cpu_per_delivery_us!=0.125"},
	} {
		ts, err := ParseThresholds(c.expr)
		if err != nil || len(ts) != 1 || ts[0].String() != c.text {
			t.Errorf("%q: %v, %v; want %q", c.expr, ts, err, c.text)
		}
	}
}

// thresholdReport is a broadcast's report with known figures.
func thresholdReport() *Report {
	return &Report{
		Scenario:    ScenarioBroadcast,
		Errors:      map[string]int64{kindDialRefused: 2, kindHandshakeTimeout: 1},
		Connections: ConnStats{Planned: 100, Opened: 97, Failed: 3, OpenAtEnd: 96},
		ConnectTime: Summary{Count: 97, P50: 300, P90: 900, P99: 1500, P999: 2500, Max: 3000},
		Latency:     &Summary{Count: 1000, P50: 800, P90: 4000, P99: 49_999, P999: 60_000, Max: 75_000},
		Messages: &MessageStats{Lost: 0, Duplicates: 1, OutOfOrder: 2, Delivered: 9700, DeliveriesPerSec: 9500.5, PublishedPerSec: 99.25,
			PublishErrors: map[string]int64{"publish_http_500": 4}},
		Server: &ServerStats{CPUPerHandshakeUs: 12.5, CPUPerDeliveryUs: 0.96, BytesPerConn: 4096},
	}
}

// TestThresholdCheck: each operator on each kind of figure, at and around
// the limit, and the value shown for each.
func TestThresholdCheck(t *testing.T) {
	rep := thresholdReport()
	for _, c := range []struct {
		expr     string
		pass     bool
		measured string
	}{
		{"p99<50ms", true, "50.0ms"},
		{"p99<49999us", false, "50.0ms"},
		{"p99<=49999us", true, "50.0ms"},
		{"p99<49.999ms", false, "50.0ms"},
		{"p99>49.998ms", true, "50.0ms"},
		{"p99>=50ms", false, "50.0ms"},
		{"p99=49999us", true, "50.0ms"},
		{"p99!=49999us", false, "50.0ms"},
		{"p50<1ms", true, "800µs"},
		{"p90<4ms", false, "4.00ms"},
		{"p999<1m", true, "60.0ms"},
		{"max<=75ms", true, "75.0ms"},
		{"connect_p50<=300us", true, "300µs"},
		{"connect_p90<1ms", true, "900µs"},
		{"connect_p99<1ms", false, "1.50ms"},
		{"connect_p999<2ms", false, "2.50ms"},
		{"connect_max<3ms", false, "3.00ms"},
		{"errors=0", false, "3"},
		{"errors<=3", true, "3"},
		{"opened>=97", true, "97"},
		{"opened=100", false, "97"},
		{"failed>0", true, "3"},
		{"open_at_end>96", false, "96"},
		{"lost=0", true, "0"},
		{"duplicates=0", false, "1"},
		{"out_of_order<3", true, "2"},
		{"delivered>=9700", true, "9700"},
		{"publish_errors=0", false, "4"},
		{"deliveries_per_sec>9500", true, "9500.500"},
		{"published_per_sec>=100", false, "99.250"},
		{"cpu_per_delivery_us<1", true, "0.960"},
		{"cpu_per_handshake_us<10", false, "12.500"},
		{"server_bytes_per_conn<=4096", true, "4096.000"},
		// Not measured by this report: a failure, never a pass.
		{"echo_per_sec>=0", false, "not measured"},
		{"cpu_per_echo_us<1000", false, "not measured"},
	} {
		ts, err := ParseThresholds(c.expr)
		if err != nil {
			t.Fatalf("%q: %v", c.expr, err)
		}
		res := ts[0].Check(rep)
		if res.Pass != c.pass || res.Measured != c.measured || res.Condition != ts[0].String() {
			t.Errorf("%q: %+v; want pass %v, measured %q", c.expr, res, c.pass, c.measured)
		}
		if (res.Value == nil) != (c.measured == "not measured") {
			t.Errorf("%q: value %v with measured %q", c.expr, res.Value, res.Measured)
		}
	}
}

// TestThresholdUnmeasured: a figure a run holds no value for fails,
// whatever the operator: no latency sample, no messages, no server
// figures, no connection timed.
func TestThresholdUnmeasured(t *testing.T) {
	empty := &Report{Scenario: ScenarioEcho, Latency: &Summary{}, Errors: map[string]int64{}, Server: &ServerStats{}}
	for _, expr := range []string{"p99<1h", "p99>=0", "max!=1s", "connect_p50<1h", "lost=0", "deliveries_per_sec>=0",
		"echo_per_sec>=0", "cpu_per_echo_us>=0", "cpu_per_handshake_us<1e9"} {
		ts, err := ParseThresholds(expr)
		if err != nil {
			t.Fatal(err)
		}
		if res := ts[0].Check(empty); res.Pass || res.Value != nil || res.Measured != "not measured" {
			t.Errorf("%q on an empty report: %+v; want failed, not measured", expr, res)
		}
		if res := ts[0].Check(nil); res.Pass {
			t.Errorf("%q on no report passes", expr)
		}
	}
	for _, expr := range []string{"errors=0", "opened=0", "failed=0", "open_at_end=0"} {
		ts, _ := ParseThresholds(expr)
		if res := ts[0].Check(empty); !res.Pass {
			t.Errorf("%q: %+v: counted figures are measured by every run", expr, res)
		}
	}
}

// TestThresholdAvailable: a figure the scenario never measures, or one
// that needs --server-pid without it, is refused before the run.
func TestThresholdAvailable(t *testing.T) {
	for _, c := range []struct {
		expr, scenario string
		pids           []int
		err            string
	}{
		{"p99<50ms", ScenarioBroadcast, nil, ""},
		{"p99<50ms", ScenarioEcho, nil, ""},
		{"p99<50ms", ScenarioChurn, nil, ""},
		{"p99<50ms", ScenarioConnect, nil, "p99 is not measured by connect (only by broadcast, echo, churn)"},
		{"lost=0", ScenarioEcho, nil, "lost is not measured by echo"},
		{"echo_per_sec>1", ScenarioBroadcast, nil, "not measured by broadcast"},
		{"errors=0", ScenarioConnect, nil, ""},
		{"connect_p99<1s", ScenarioConnect, nil, ""},
		{"cpu_per_handshake_us<50", ScenarioConnect, nil, "needs --server-pid"},
		{"cpu_per_handshake_us<50", ScenarioConnect, []int{1}, ""},
		{"cpu_per_delivery_us<5", ScenarioEcho, []int{1}, "not measured by echo"},
		{"cpu_per_delivery_us<5", ScenarioBroadcast, []int{1}, ""},
	} {
		ts, err := ParseThresholds(c.expr)
		if err != nil {
			t.Fatal(err)
		}
		err = ts[0].Available(Config{Scenario: c.scenario, ServerPIDs: c.pids})
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%q in %s: %v", c.expr, c.scenario, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q in %s: err %v, want one saying %q", c.expr, c.scenario, err, c.err)
		}
	}
}

// TestFiguresTable: every figure has a unique name, a description in
// --help's list, and reads a value from a report that holds everything.
func TestFiguresTable(t *testing.T) {
	rep := thresholdReport()
	rep.Echo = &EchoStats{PerSec: 1}
	rep.Server.CPUPerEchoUs = 1
	help := FigureHelp()
	seen := map[string]bool{}
	for _, f := range figures {
		if seen[f.name] {
			t.Errorf("figure %s twice", f.name)
		}
		seen[f.name] = true
		if !strings.Contains(help, "  "+f.name+" ") || f.doc == "" {
			t.Errorf("figure %s: not described in %q", f.name, help)
		}
		if _, ok := f.value(rep); !ok {
			t.Errorf("figure %s: no value in a full report", f.name)
		}
		for _, s := range f.scenarios {
			if !slices.Contains([]string{ScenarioConnect, ScenarioBroadcast, ScenarioEcho, ScenarioChurn}, s) {
				t.Errorf("figure %s: scenario %q", f.name, s)
			}
		}
	}
	if !slices.Equal(FigureNames()[:5], []string{"p50", "p90", "p99", "p999", "max"}) {
		t.Errorf("figure names %q", FigureNames())
	}
}

// TestReportTableThresholds: the final table says how many conditions
// held and which failed, with the value measured.
func TestReportTableThresholds(t *testing.T) {
	rep := thresholdReport()
	rep.LatencyRaw = rep.Latency
	ts, err := ParseThresholds("p99<50ms,errors=0,lost=0")
	if err != nil {
		t.Fatal(err)
	}
	rep.Thresholds = CheckThresholds(ts, rep)
	var b strings.Builder
	rep.WriteTable(&b)
	if !strings.Contains(b.String(), "2 of 3 conditions hold; FAILED: errors=0 (measured 3)") {
		t.Errorf("table:\n%s", b.String())
	}
}

// FuzzParseThresholds: no input panics the parser; what it accepts is
// within its bounds, names known figures and prints back (String) as an
// expression that parses to the same conditions.
func FuzzParseThresholds(f *testing.F) {
	for _, s := range []string{"p99<50ms,lost=0,errors=0", "p50 <= 1.5ms , max>=2s", "deliveries_per_sec>=9.5e4",
		"lost=", "p99<50", ",,", "opened!=0x1p4", "p99<1ns,connect_max<1h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		ts, err := ParseThresholds(expr)
		if err != nil {
			if ts != nil {
				t.Fatalf("%q: conditions %v beside the error %v", expr, ts, err)
			}
			return
		}
		if len(ts) == 0 || len(ts) > MaxThresholds || len(expr) > MaxThresholdBytes {
			t.Fatalf("%q: %d conditions accepted", expr, len(ts))
		}
		parts := make([]string, len(ts))
		for i, th := range ts {
			if figureByName(th.Figure) == nil || th.Op < OpLess || th.Op > OpNotEqual {
				t.Fatalf("%q: condition %+v", expr, th)
			}
			parts[i] = th.String()
		}
		again, err := ParseThresholds(strings.Join(parts, ","))
		if err != nil || !reflect.DeepEqual(again, ts) {
			t.Fatalf("%q printed as %q parses to %+v, %v; want %+v", expr, parts, again, err, ts)
		}
		_ = CheckThresholds(ts, thresholdReport())
	})
}
