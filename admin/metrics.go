package admin

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/wsgate/wsgate/reactor"
)

// newRegistry is the node's Prometheus registry for GET /metrics: the
// gateway's counters (reactor.Stats) and the relay's (relay.Stats), each
// series described by its field's tags, plus the Go runtime's and the
// process's collectors. Each scrape takes one snapshot of each; nothing on
// the message path touches a Prometheus type.
func newRegistry(eng *reactor.Engine) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		mustSnapshotCollector(eng.Stats),
		mustSnapshotCollector(eng.RelayStats),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if h := eng.Config().Hooks; h != nil {
		reg.MustRegister(mustSnapshotCollector(h.Stats))
	}
	if p := eng.Config().Presence; p != nil {
		reg.MustRegister(mustSnapshotCollector(p.Stats))
	}
	return reg
}

// snapshotCollector exposes the fields of the struct S that snap returns,
// as its tags describe them:
//
//	metric:"NAME,KIND[,LABEL][,CONST=VALUE...]" help:"TEXT"
//
// KIND is counter or gauge. An integer, float or bool field (true is 1) is
// one series. A map[string]int64 field is one series per key, the key as
// the value of LABEL. CONST=VALUE adds a constant label, so two fields may
// be one metric: closes sent and received are wsgate_closes_total with
// by="server" and by="client" (the registry checks that their help and
// labels agree). metric:"-" marks a field that is not a metric.
type snapshotCollector[S any] struct {
	snap   func() S
	series []series
}

// series is one field's metric.
type series struct {
	field int // index of the field in S
	desc  *prometheus.Desc
	kind  prometheus.ValueType
}

// newSnapshotCollector reads S's tags (once: scrapes reuse the result) and
// reports every field whose tags are missing or wrong.
func newSnapshotCollector[S any](snap func() S) (*snapshotCollector[S], error) {
	series, err := seriesOf(reflect.TypeFor[S]())
	if err != nil {
		return nil, err
	}
	return &snapshotCollector[S]{snap: snap, series: series}, nil
}

// seriesOf parses the tags of struct type t, one series per field but
// those marked metric:"-".
func seriesOf(t reflect.Type) ([]series, error) {
	var all []series
	var problems []string
	for i := range t.NumField() {
		f := t.Field(i)
		s, err := fieldSeries(f)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s.%s: %v", t, f.Name, err))
		case s != nil:
			s.field = i
			all = append(all, *s)
		}
	}
	if problems != nil {
		return nil, fmt.Errorf("admin: metric tags: %s", strings.Join(problems, "; "))
	}
	return all, nil
}

func mustSnapshotCollector[S any](snap func() S) *snapshotCollector[S] {
	c, err := newSnapshotCollector(snap)
	if err != nil {
		panic(err) // a struct tag is wrong: TestSnapshotMetricTags says which
	}
	return c
}

// fieldSeries parses f's metric and help tags; nil without error for
// metric:"-".
func fieldSeries(f reflect.StructField) (*series, error) {
	tag, ok := f.Tag.Lookup("metric")
	if !ok {
		return nil, fmt.Errorf(`no metric tag: give it metric:"name,kind" and help:"...", or metric:"-"`)
	}
	if tag == "-" {
		return nil, nil
	}
	help := f.Tag.Get("help")
	if help == "" {
		return nil, fmt.Errorf("no help tag")
	}
	parts := strings.Split(tag, ",")
	if len(parts) < 2 {
		return nil, fmt.Errorf("metric tag %q: want name,kind", tag)
	}
	s := &series{}
	switch parts[1] {
	case "counter":
		s.kind = prometheus.CounterValue
	case "gauge":
		s.kind = prometheus.GaugeValue
	default:
		return nil, fmt.Errorf("metric tag %q: kind %q, want counter or gauge", tag, parts[1])
	}
	var label []string
	var constLabels prometheus.Labels
	for _, p := range parts[2:] {
		if name, value, ok := strings.Cut(p, "="); ok {
			if constLabels == nil {
				constLabels = prometheus.Labels{}
			}
			constLabels[name] = value
			continue
		}
		label = append(label, p)
	}
	isMap := f.Type.Kind() == reflect.Map
	switch {
	case isMap && (f.Type.Key().Kind() != reflect.String || f.Type.Elem().Kind() != reflect.Int64):
		return nil, fmt.Errorf("type %s: a map must be map[string]int64", f.Type)
	case isMap && len(label) != 1:
		return nil, fmt.Errorf("metric tag %q: a map takes one label, for its keys", tag)
	case !isMap && len(label) != 0:
		return nil, fmt.Errorf("metric tag %q: labels %v on a field that is not a map", tag, label)
	case !isMap && !numeric(f.Type.Kind()):
		return nil, fmt.Errorf("type %s is not a number, a bool or a map[string]int64", f.Type)
	}
	s.desc = prometheus.NewDesc(parts[0], help, label, constLabels)
	return s, nil
}

func numeric(k reflect.Kind) bool {
	switch k {
	case reflect.Bool, reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint32, reflect.Uint64, reflect.Float64:
		return true
	}
	return false
}

func (c *snapshotCollector[S]) Describe(ch chan<- *prometheus.Desc) {
	for _, s := range c.series {
		ch <- s.desc
	}
}

func (c *snapshotCollector[S]) Collect(ch chan<- prometheus.Metric) {
	snap := c.snap()
	v := reflect.ValueOf(&snap).Elem()
	for _, s := range c.series {
		f := v.Field(s.field)
		if f.Kind() == reflect.Map {
			for key, n := range f.Seq2() {
				ch <- prometheus.MustNewConstMetric(s.desc, s.kind, float64(n.Int()), key.String())
			}
			continue
		}
		ch <- prometheus.MustNewConstMetric(s.desc, s.kind, value(f))
	}
}

// value is a numeric or bool field as a sample.
func value(f reflect.Value) float64 {
	switch f.Kind() {
	case reflect.Bool:
		if f.Bool() {
			return 1
		}
		return 0
	case reflect.Uint32, reflect.Uint64:
		return float64(f.Uint())
	case reflect.Float64:
		return f.Float()
	}
	return float64(f.Int())
}
