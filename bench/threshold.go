package bench

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Thresholds (wsbench --fail-if): conditions over a report's figures that
// a CI job can fail on, such as "p99<50ms,lost=0,errors=0". A condition is
// a figure, an operator and a limit; a list is comma-separated. Each
// figure has a unit: a duration (the limit needs a unit: 50ms, 1.5s,
// 200us) or a plain number. A figure the run did not measure fails its
// condition: a missing number is no evidence that it is good.

// Bounds on a --fail-if list.
const (
	MaxThresholdBytes = 4096 // one expression, all conditions
	MaxThresholds     = 64   // conditions over all expressions
)

// Op compares a measured figure with a limit.
type Op uint8

// Operators, written as in the expression.
const (
	OpLess Op = iota + 1
	OpLessEq
	OpGreater
	OpGreaterEq
	OpEqual
	OpNotEqual
)

var opText = [...]string{OpLess: "<", OpLessEq: "<=", OpGreater: ">", OpGreaterEq: ">=", OpEqual: "=", OpNotEqual: "!="}

func (o Op) String() string {
	if int(o) < len(opText) && o != 0 {
		return opText[o]
	}
	return "?"
}

// holds reports whether measured op limit.
func (o Op) holds(measured, limit float64) bool {
	switch o {
	case OpLess:
		return measured < limit
	case OpLessEq:
		return measured <= limit
	case OpGreater:
		return measured > limit
	case OpGreaterEq:
		return measured >= limit
	case OpEqual:
		return measured == limit
	case OpNotEqual:
		return measured != limit
	}
	return false
}

// Threshold is one condition: Figure Op Limit.
type Threshold struct {
	Figure string
	Op     Op
	// Limit is in the figure's report unit: microseconds for a duration
	// (Duration holds it exact), else the number as written.
	Limit    float64
	Duration time.Duration // duration figures: the limit as parsed
}

func (t Threshold) String() string {
	f := figureByName(t.Figure)
	if f != nil && f.unit == unitDuration {
		return t.Figure + t.Op.String() + t.Duration.String()
	}
	return t.Figure + t.Op.String() + strconv.FormatFloat(t.Limit, 'g', -1, 64)
}

// figureUnit is how a figure's limit is written and its value shown.
type figureUnit uint8

const (
	unitCount    figureUnit = iota // a whole number
	unitNumber                     // a rate, a cost: shown with decimals
	unitDuration                   // microseconds in the report; the limit carries a unit
)

// figure is one value a condition can test.
type figure struct {
	name      string
	unit      figureUnit
	doc       string
	scenarios []string // those that measure it; nil: all
	serverPID bool     // needs Config.ServerPIDs
	// value reads it from a report; false: not measured.
	value func(r *Report) (float64, bool)
}

var (
	messaging = []string{ScenarioBroadcast, ScenarioChurn}
	loaded    = []string{ScenarioBroadcast, ScenarioEcho, ScenarioChurn}
)

// figures is every figure a threshold may name, in --help's order.
var figures = []figure{
	latencyFigure("p50", "median", func(s Summary) int64 { return s.P50 }),
	latencyFigure("p90", "90th percentile", func(s Summary) int64 { return s.P90 }),
	latencyFigure("p99", "99th percentile", func(s Summary) int64 { return s.P99 }),
	latencyFigure("p999", "99.9th percentile", func(s Summary) int64 { return s.P999 }),
	latencyFigure("max", "largest", func(s Summary) int64 { return s.Max }),
	connectFigure("connect_p50", "median", func(s Summary) int64 { return s.P50 }),
	connectFigure("connect_p90", "90th percentile", func(s Summary) int64 { return s.P90 }),
	connectFigure("connect_p99", "99th percentile", func(s Summary) int64 { return s.P99 }),
	connectFigure("connect_p999", "99.9th percentile", func(s Summary) int64 { return s.P999 }),
	connectFigure("connect_max", "largest", func(s Summary) int64 { return s.Max }),
	{name: "errors", doc: "connection errors: the error table's total", value: func(r *Report) (float64, bool) {
		var n int64
		for _, v := range r.Errors {
			n += v
		}
		return float64(n), true
	}},
	{name: "opened", doc: "connections opened (101 received), churn included", value: func(r *Report) (float64, bool) {
		return float64(r.Connections.Opened), true
	}},
	{name: "failed", doc: "connections that failed to open", value: func(r *Report) (float64, bool) {
		return float64(r.Connections.Failed), true
	}},
	{name: "open_at_end", doc: "connections still open when the load ended", value: func(r *Report) (float64, bool) {
		return float64(r.Connections.OpenAtEnd), true
	}},
	messageFigure("lost", unitCount, "deliveries owed to stable subscribers and never made", func(m *MessageStats) float64 { return float64(m.Lost) }),
	messageFigure("duplicates", unitCount, "messages a subscriber received twice", func(m *MessageStats) float64 { return float64(m.Duplicates) }),
	messageFigure("out_of_order", unitCount, "messages received after a later one", func(m *MessageStats) float64 { return float64(m.OutOfOrder) }),
	messageFigure("delivered", unitCount, "stamped messages received", func(m *MessageStats) float64 { return float64(m.Delivered) }),
	messageFigure("publish_errors", unitCount, "publications refused or failed", func(m *MessageStats) float64 {
		var n int64
		for _, v := range m.PublishErrors {
			n += v
		}
		return float64(n)
	}),
	messageFigure("deliveries_per_sec", unitNumber, "deliveries per second over the load and its drain", func(m *MessageStats) float64 { return m.DeliveriesPerSec }),
	messageFigure("published_per_sec", unitNumber, "publications per second", func(m *MessageStats) float64 { return m.PublishedPerSec }),
	{name: "echo_per_sec", unit: unitNumber, doc: "echo replies per second", scenarios: []string{ScenarioEcho},
		value: func(r *Report) (float64, bool) {
			if r.Echo == nil {
				return 0, false
			}
			return r.Echo.PerSec, true
		}},
	serverFigure("cpu_per_handshake_us", nil, "server CPU µs per handshake", func(s *ServerStats) float64 { return s.CPUPerHandshakeUs }),
	serverFigure("cpu_per_delivery_us", messaging, "server CPU µs per delivery", func(s *ServerStats) float64 { return s.CPUPerDeliveryUs }),
	serverFigure("cpu_per_echo_us", []string{ScenarioEcho}, "server CPU µs per echo", func(s *ServerStats) float64 { return s.CPUPerEchoUs }),
	serverFigure("server_bytes_per_conn", nil, "server RSS bytes per connection", func(s *ServerStats) float64 { return s.BytesPerConn }),
}

func latencyFigure(name, what string, q func(Summary) int64) figure {
	return figure{name: name, unit: unitDuration, doc: what + " message latency", scenarios: loaded,
		value: func(r *Report) (float64, bool) {
			if r.Latency == nil || r.Latency.Count == 0 {
				return 0, false
			}
			return float64(q(*r.Latency)), true
		}}
}

func connectFigure(name, what string, q func(Summary) int64) figure {
	return figure{name: name, unit: unitDuration, doc: what + " connect time",
		value: func(r *Report) (float64, bool) {
			if r.ConnectTime.Count == 0 {
				return 0, false
			}
			return float64(q(r.ConnectTime)), true
		}}
}

func messageFigure(name string, unit figureUnit, doc string, v func(*MessageStats) float64) figure {
	return figure{name: name, unit: unit, doc: doc, scenarios: messaging,
		value: func(r *Report) (float64, bool) {
			if r.Messages == nil {
				return 0, false
			}
			return v(r.Messages), true
		}}
}

// serverFigure reads a figure of --server-pid's; zero means the run had
// nothing to divide by (no delivery, no echo), which is not measured.
func serverFigure(name string, scenarios []string, doc string, v func(*ServerStats) float64) figure {
	return figure{name: name, unit: unitNumber, doc: doc, scenarios: scenarios, serverPID: true,
		value: func(r *Report) (float64, bool) {
			if r.Server == nil {
				return 0, false
			}
			x := v(r.Server)
			return x, x != 0
		}}
}

func figureByName(name string) *figure {
	for i := range figures {
		if figures[i].name == name {
			return &figures[i]
		}
	}
	return nil
}

// FigureNames lists the figures a threshold may name.
func FigureNames() []string {
	names := make([]string, len(figures))
	for i, f := range figures {
		names[i] = f.name
	}
	return names
}

// FigureHelp describes every figure, one per line, for --help.
func FigureHelp() string {
	var b strings.Builder
	for _, f := range figures {
		unit := ""
		switch f.unit {
		case unitDuration:
			unit = "duration"
		case unitCount:
			unit = "count"
		case unitNumber:
			unit = "number"
		}
		where := "any scenario"
		if f.scenarios != nil {
			where = strings.Join(f.scenarios, ", ")
		}
		if f.serverPID {
			where += "; needs --server-pid"
		}
		fmt.Fprintf(&b, "  %-22s %s (%s; %s)\n", f.name, f.doc, unit, where)
	}
	return b.String()
}

// ParseThresholds reads a comma-separated list of conditions, each
// FIGURE OP LIMIT with OP one of < <= > >= = != (== is read as =); spaces
// around the parts are allowed. It refuses an unknown figure, a duration
// without a unit, a limit that is not a finite number, an empty condition
// and a list longer than MaxThresholdBytes or MaxThresholds.
func ParseThresholds(expr string) ([]Threshold, error) {
	if len(expr) > MaxThresholdBytes {
		return nil, fmt.Errorf("fail-if: %d bytes, at most %d", len(expr), MaxThresholdBytes)
	}
	if strings.TrimSpace(expr) == "" {
		return nil, errors.New("fail-if: empty: want conditions such as p99<50ms,errors=0")
	}
	var out []Threshold
	for part := range strings.SplitSeq(expr, ",") {
		if len(out) == MaxThresholds {
			return nil, fmt.Errorf("fail-if: more than %d conditions", MaxThresholds)
		}
		t, err := parseThreshold(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("fail-if: %w", err)
		}
		out = append(out, t)
	}
	return out, nil
}

func parseThreshold(s string) (Threshold, error) {
	if s == "" {
		return Threshold{}, errors.New("empty condition (a comma too many?)")
	}
	i := strings.IndexAny(s, "<>=!")
	if i < 0 {
		return Threshold{}, fmt.Errorf("%q: no operator: want FIGURE OP LIMIT, OP one of < <= > >= = !=", s)
	}
	name, rest := strings.TrimSpace(s[:i]), s[i:]
	var op Op
	for _, o := range []struct {
		text string
		op   Op
	}{{"<=", OpLessEq}, {">=", OpGreaterEq}, {"!=", OpNotEqual}, {"==", OpEqual}, {"<", OpLess}, {">", OpGreater}, {"=", OpEqual}} {
		if r, ok := strings.CutPrefix(rest, o.text); ok {
			op, rest = o.op, r
			break
		}
	}
	if op == 0 {
		return Threshold{}, fmt.Errorf("%q: bad operator: want one of < <= > >= = !=", s)
	}
	f := figureByName(name)
	if f == nil {
		return Threshold{}, fmt.Errorf("%q: unknown figure %q; figures: %s", s, name, strings.Join(FigureNames(), " "))
	}
	limit := strings.TrimSpace(rest)
	t := Threshold{Figure: name, Op: op}
	if f.unit == unitDuration {
		d, err := time.ParseDuration(limit)
		if err != nil || d < 0 {
			return Threshold{}, fmt.Errorf("%q: %s is a duration: want a limit such as 50ms, 1.5s or 200us", s, name)
		}
		t.Duration, t.Limit = d, float64(d)/float64(time.Microsecond)
		return t, nil
	}
	v, err := strconv.ParseFloat(limit, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return Threshold{}, fmt.Errorf("%q: want a number after %s", s, op)
	}
	t.Limit = v
	return t, nil
}

// Available reports why a threshold cannot be judged in a run of cfg: its
// figure is not measured in cfg's scenario, or needs --server-pid. nil: it
// can.
func (t Threshold) Available(cfg Config) error {
	f := figureByName(t.Figure)
	if f == nil {
		return fmt.Errorf("fail-if %s: unknown figure", t)
	}
	if f.scenarios != nil && !slices.Contains(f.scenarios, cfg.Scenario) {
		return fmt.Errorf("fail-if %s: %s is not measured by %s (only by %s)", t, f.name, cfg.Scenario, strings.Join(f.scenarios, ", "))
	}
	if f.serverPID && len(cfg.ServerPIDs) == 0 {
		return fmt.Errorf("fail-if %s: %s needs --server-pid", t, f.name)
	}
	return nil
}

// ThresholdResult is one condition judged against a report.
type ThresholdResult struct {
	Condition string   `json:"condition"`
	Pass      bool     `json:"pass"`
	Value     *float64 `json:"value,omitempty"` // in the report's unit (µs for durations); nil: not measured
	Measured  string   `json:"measured"`        // the value as shown, or "not measured"
}

func (r ThresholdResult) String() string {
	verdict := "holds"
	if !r.Pass {
		verdict = "FAILED"
	}
	return fmt.Sprintf("%s %s (measured %s)", r.Condition, verdict, r.Measured)
}

// Check judges t against r. A figure r does not hold fails.
func (t Threshold) Check(r *Report) ThresholdResult {
	res := ThresholdResult{Condition: t.String(), Measured: "not measured"}
	f := figureByName(t.Figure)
	if f == nil || r == nil {
		return res
	}
	v, ok := f.value(r)
	if !ok {
		return res
	}
	res.Value = &v
	res.Pass = t.Op.holds(v, t.Limit)
	switch f.unit {
	case unitDuration:
		res.Measured = usStr(int64(v))
	case unitCount:
		res.Measured = strconv.FormatFloat(v, 'f', -1, 64)
	default:
		res.Measured = strconv.FormatFloat(v, 'f', 3, 64)
	}
	return res
}

// CheckThresholds judges every threshold against r.
func CheckThresholds(ts []Threshold, r *Report) []ThresholdResult {
	out := make([]ThresholdResult, len(ts))
	for i, t := range ts {
		out[i] = t.Check(r)
	}
	return out
}
