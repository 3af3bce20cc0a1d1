package admin

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wsgate/wsgate/hook"
	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/relay"
)

// TestSnapshotMetricTags: every field of the snapshots /metrics reads has
// a JSON name and a metric (or metric:"-"), so a counter added without its
// tags fails here, naming the field, before a node would panic at start.
func TestSnapshotMetricTags(t *testing.T) {
	check := func(t *testing.T, typ reflect.Type, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name == "" || name == "-" {
				t.Errorf("%s.%s has no JSON name for /api/stats", typ.Name(), f.Name)
			}
		}
	}
	_, err := newSnapshotCollector(func() reactor.Stats { return reactor.Stats{} })
	check(t, reflect.TypeFor[reactor.Stats](), err)
	_, err = newSnapshotCollector(func() relay.Stats { return relay.Stats{} })
	check(t, reflect.TypeFor[relay.Stats](), err)
}

// TestSnapshotMetricTagsRefused: a field without tags, or with tags that
// cannot make a series, is an error naming it.
func TestSnapshotMetricTagsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		snap any
		want string
	}{
		{"no metric tag", struct {
			Forgotten int64 `json:"forgotten"`
		}{}, `Forgotten: no metric tag`},
		{"no help", struct {
			A int64 `metric:"a_total,counter"`
		}{}, "A: no help tag"},
		{"no kind", struct {
			A int64 `metric:"a_total" help:"h"`
		}{}, "want name,kind"},
		{"unknown kind", struct {
			A int64 `metric:"a,histogram" help:"h"`
		}{}, `kind "histogram"`},
		{"label on a number", struct {
			A int64 `metric:"a,gauge,code" help:"h"`
		}{}, "not a map"},
		{"map without label", struct {
			A map[string]int64 `metric:"a_total,counter" help:"h"`
		}{}, "one label"},
		{"map of floats", struct {
			A map[string]float64 `metric:"a_total,counter,k" help:"h"`
		}{}, "map[string]int64"},
		{"string", struct {
			A string `metric:"a,gauge" help:"h"`
		}{}, "not a number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := seriesOf(reflect.TypeOf(tc.snap))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestMetricsNamesAndHelp: /metrics keeps every series' name, type, label
// names and help text (testdata/metrics.txt): dashboards and alerts are
// written against them. A rename, a new label or a new help text fails
// here; one that is meant goes into the file with a note for operators.
// Every map holds one key, so each labelled family shows.
func TestMetricsNamesAndHelp(t *testing.T) {
	stats := reactor.Stats{
		ClosesSent:     map[string]int64{"1000": 1},
		ClosesReceived: map[string]int64{"1001": 1},
		SocketsRefused: map[string]int64{"sockets": 1},
		AcceptErrors:   map[string]int64{"EMFILE": 1},
		Resumes:        map[string]int64{"true": 1},
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		mustSnapshotCollector(func() reactor.Stats { return stats }),
		mustSnapshotCollector(func() relay.Stats { return relay.Stats{} }),
		mustSnapshotCollector(func() hook.Stats { return hook.Stats{} }))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, mf := range mfs {
		var labels []string
		for _, lp := range mf.GetMetric()[0].GetLabel() {
			labels = append(labels, lp.GetName())
		}
		got = append(got, fmt.Sprintf("%s{%s} %s %s", mf.GetName(), strings.Join(labels, ","),
			strings.ToLower(mf.GetType().String()), mf.GetHelp()))
	}
	slices.Sort(got)
	b, err := os.ReadFile("testdata/metrics.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	for _, line := range want {
		if !slices.Contains(got, line) {
			t.Errorf("missing or changed in /metrics: %s", line)
		}
	}
	for _, line := range got {
		if !slices.Contains(want, line) {
			t.Errorf("not in testdata/metrics.txt: %s", line)
		}
	}
}

// TestMetricsValues: each series carries its own field's value, bools as
// 0 or 1, map keys as label values beside the constant labels.
func TestMetricsValues(t *testing.T) {
	var stats reactor.Stats
	sv := reflect.ValueOf(&stats).Elem()
	for i := range sv.NumField() {
		switch f := sv.Field(i); f.Kind() {
		case reflect.Int64:
			f.SetInt(int64(100 + i))
		case reflect.Float64:
			f.SetFloat(float64(i) + 0.5)
		}
	}
	stats.ClosesSent = map[string]int64{"1000": 7, "other": 8}
	stats.ClosesReceived = map[string]int64{"1000": 9}
	stats.SocketsRefused = map[string]int64{"handshakes": 10}
	stats.AcceptErrors = map[string]int64{"ENFILE": 11}
	stats.Resumes = map[string]int64{"false": 12}
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		mustSnapshotCollector(func() reactor.Stats { return stats }),
		mustSnapshotCollector(func() relay.Stats { return relay.Stats{Connected: true, Lost: 3} }))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, lp.GetName()+"="+lp.GetValue())
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			got[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = v
		}
	}
	for name, want := range map[string]float64{
		"wsgate_connections{}":                           float64(stats.Connections),
		"wsgate_messages_out_total{}":                    float64(stats.FramesOut),
		"wsgate_channels_refused_total{}":                float64(stats.ChannelsRefused),
		"wsgate_loop_lag_seconds{}":                      stats.LoopLagSeconds,
		"wsgate_closes_total{by=server,code=1000}":       7,
		"wsgate_closes_total{by=server,code=other}":      8,
		"wsgate_closes_total{by=client,code=1000}":       9,
		"wsgate_sockets_refused_total{limit=handshakes}": 10,
		"wsgate_accept_errors_total{errno=ENFILE}":       11,
		"wsgate_resumes_total{recovered=false}":          12,
		"wsgate_relay_connected{}":                       1,
		"wsgate_relay_lost_total{}":                      3,
		"wsgate_relay_dropped_total{}":                   0,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
	// One series per scalar field and per map key, nothing else.
	if want := sv.NumField() - 5 + 6 + reflect.TypeFor[relay.Stats]().NumField() - 1; len(got) != want {
		t.Errorf("%d series, want %d", len(got), want)
	}
}
