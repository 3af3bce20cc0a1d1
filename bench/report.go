package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"
)

// Report is the outcome of one run: what the final table prints and what
// --json writes.
type Report struct {
	Scenario string    `json:"scenario"`
	Label    string    `json:"label,omitempty"`
	Command  string    `json:"command,omitempty"`
	Started  time.Time `json:"started"`
	Host     HostInfo  `json:"host"`
	Settings Settings  `json:"settings"`

	Connections    ConnStats        `json:"connections"`
	Errors         map[string]int64 `json:"errors"`
	ConnectTime    Summary          `json:"connect_time"`             // from when each dial was due
	ConnectTimeRaw Summary          `json:"connect_time_uncorrected"` // from when each dial began

	Messages   *MessageStats `json:"messages,omitempty"`
	Echo       *EchoStats    `json:"echo,omitempty"`
	Churn      *ChurnStats   `json:"churn,omitempty"`
	Latency    *Summary      `json:"latency,omitempty"`             // from the intended send time
	LatencyRaw *Summary      `json:"latency_uncorrected,omitempty"` // from the actual send time

	Server *ServerStats `json:"server,omitempty"`
	// ServerCounters is the growth over the load (from its start to the
	// end of its drain) of each numeric field of Config.ServerStatsURL's
	// JSON object: wsgate's /api/stats counters (gauges too, whose
	// difference means little).
	ServerCounters map[string]float64 `json:"server_counters,omitempty"`
	Kernel         *KernelStats       `json:"kernel,omitempty"`
	Self           SelfStats          `json:"wsbench"`
	Load           *HostLoad          `json:"host_load,omitempty"`

	// Failure says where a failed run stopped and what it had reached;
	// nil for a run that completed.
	Failure *Failure `json:"failure,omitempty"`
	// Warnings say when a figure may not mean what it seems: wsbench
	// taking most of the CPU it shares with the server, for one.
	Warnings []string `json:"warnings,omitempty"`

	Timeline []Point `json:"timeline"`
	// Thresholds are the --fail-if conditions judged against this report
	// (CheckThresholds), set by the caller before writing it.
	Thresholds []ThresholdResult `json:"thresholds,omitempty"`

	latency *Hist // for --plot
	connect *Hist
}

// Failure is where a run stopped: the stage ("ramp" or "load"), why, and
// the connections it had reached then.
type Failure struct {
	Stage   string `json:"stage"`
	Reason  string `json:"reason"`
	Planned int64  `json:"planned"`
	Opened  int64  `json:"opened"`
	Failed  int64  `json:"failed"`
	Open    int64  `json:"open"`
}

// HostInfo identifies the machine a report was measured on.
type HostInfo struct {
	CPUs      int    `json:"cpus"`
	MemBytes  int64  `json:"mem_bytes"`
	Kernel    string `json:"kernel"`
	GoVersion string `json:"go_version"`
}

func hostInfo() HostInfo {
	h := HostInfo{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if mi, err := os.ReadFile("/proc/meminfo"); err == nil {
		if kb, err := statusField(mi, "MemTotal:"); err == nil {
			h.MemBytes = kb << 10
		}
	}
	return h
}

// Settings are the resolved parameters of the run.
type Settings struct {
	URLs        []string    `json:"urls"`
	Conns       int         `json:"conns"`
	ChurnConns  int         `json:"churn_conns,omitempty"`
	ConnectRate float64     `json:"connect_rate"`
	RampStages  []RampStage `json:"ramp_stages,omitempty"`
	Hold        string      `json:"hold,omitempty"`
	Duration    string      `json:"duration,omitempty"`
	Channels    int         `json:"channels"`
	Rate        float64     `json:"rate"`
	Payload     int         `json:"payload"`
	PayloadKind string      `json:"payload_kind,omitempty"`
	Deflate     bool        `json:"deflate,omitempty"` // permessage-deflate offered (and required)
	Publishers  int         `json:"publishers,omitempty"`
	PublishVia  string      `json:"publish_via,omitempty"`
	// SubscribeVia is how subscribers joined: url (?channels=) or frame.
	SubscribeVia string  `json:"subscribe_via,omitempty"`
	Window       int     `json:"window,omitempty"`
	ChurnRate    float64 `json:"churn_rate,omitempty"`
	Arrivals     string  `json:"arrivals,omitempty"` // churn: uniform or poisson
	Reconnect    bool    `json:"reconnect,omitempty"`
	Procs        int     `json:"procs"`
	Loops        int     `json:"loops_per_proc"`
	SourceIPs    string  `json:"source_ips,omitempty"`
	// TLS: how a wss:// target was dialled and authenticated, and what the
	// first handshake negotiated; empty for ws://.
	TLS           string `json:"tls,omitempty"`
	ProxyProtocol string `json:"proxy_protocol,omitempty"` // the PROXY header sent, if any
	// Headers and PublishHeaders name the extra headers sent (Config.Headers,
	// Config.PublishHeaders), never their values; Subprotocols are those
	// offered, a token entry's token left out.
	Headers        []string `json:"headers,omitempty"`
	Subprotocols   []string `json:"subprotocols,omitempty"`
	PublishHeaders []string `json:"publish_headers,omitempty"`
}

// ConnStats describes the ramp.
type ConnStats struct {
	Planned     int64   `json:"planned"`
	Opened      int64   `json:"opened"` // handshakes completed, churn included
	Failed      int64   `json:"failed"`
	OpenAtReady int64   `json:"open_at_ready"`
	OpenAtEnd   int64   `json:"open_at_end"` // just before wsbench closed them
	RampSeconds float64 `json:"ramp_seconds"`
	PerSecond   float64 `json:"per_second"`
	Deflated    int64   `json:"deflated"` // handshakes whose 101 accepted permessage-deflate
}

// MessageStats is the broadcast accounting.
type MessageStats struct {
	Published     int64            `json:"published"`
	PublishErrors map[string]int64 `json:"publish_errors,omitempty"`
	Expected      int64            `json:"expected"` // deliveries to stable subscribers
	Delivered     int64            `json:"delivered"`
	Unique        int64            `json:"unique"` // distinct deliveries to stable subscribers
	Lost          int64            `json:"lost"`
	// Survivors are the stable subscribers connected from ready to the end,
	// and LostSurvivors the messages they missed: the loss that counts when
	// connections were lost on purpose (a node killed). Reconnects are the
	// stable subscribers dropped and redialled (--reconnect).
	Survivors        int64   `json:"survivors"`
	LostSurvivors    int64   `json:"lost_survivors"`
	Reconnects       int64   `json:"reconnects,omitempty"`
	Duplicates       int64   `json:"duplicates"`
	OutOfOrder       int64   `json:"out_of_order"`
	Foreign          int64   `json:"unstamped"`
	LoadSeconds      float64 `json:"load_seconds"`
	DrainSeconds     float64 `json:"drain_seconds"`
	PublishedPerSec  float64 `json:"published_per_sec"`
	DeliveriesPerSec float64 `json:"deliveries_per_sec"`
	// WireBytes is what the subscribers read from their sockets from the
	// load's start to the end of its drain: frame headers and payloads as
	// they came, compressed or not (after TLS for wss://).
	WireBytes            int64   `json:"wire_bytes"`
	WireBytesPerDelivery float64 `json:"wire_bytes_per_delivery"`
}

// EchoStats is the echo accounting.
type EchoStats struct {
	Mode     string  `json:"mode"` // closed-loop or fixed-rate
	Sent     int64   `json:"sent"`
	Received int64   `json:"received"`
	Seconds  float64 `json:"seconds"`
	PerSec   float64 `json:"per_sec"`
	// WireBytesPerReply is what the echo clients read from their sockets
	// over the load and its drain, per reply.
	WireBytesPerReply float64 `json:"wire_bytes_per_reply"`
}

// ChurnStats counts the reconnects.
type ChurnStats struct {
	Disconnects   int64   `json:"disconnects"`
	Completed     int64   `json:"disconnects_completed"`
	PerSec        float64 `json:"per_sec"`
	LostInChurned uint64  `json:"lost_in_churned"` // gaps seen by churned subscribers while connected
}

// ServerStats is the server's resource use, from /proc.
type ServerStats struct {
	PIDs              []int   `json:"pids"`
	RSSBefore         int64   `json:"rss_before"`
	RSSReady          int64   `json:"rss_ready"`
	RSSEnd            int64   `json:"rss_end"`
	BytesPerConn      float64 `json:"bytes_per_conn"`
	CPUConnectSeconds float64 `json:"cpu_connect_seconds"`
	CPULoadSeconds    float64 `json:"cpu_load_seconds"`
	CPUPerHandshakeUs float64 `json:"cpu_us_per_handshake"`
	CPUPerDeliveryUs  float64 `json:"cpu_us_per_delivery,omitempty"`
	CPUPerEchoUs      float64 `json:"cpu_us_per_echo,omitempty"`
	// CPUIdleUsPerConnSec is connect's hold: the server's CPU over the
	// connections held and the seconds held (pings, timers, GC), in µs.
	CPUIdleUsPerConnSec float64 `json:"cpu_us_per_idle_conn_sec,omitempty"`
	CoresDuringLoad     float64 `json:"cores_during_load"`
	CoresDuringConnect  float64 `json:"cores_during_connect"`
}

// KernelStats is the host kernel's memory growth per connection (both
// ends, when client and server share the host).
type KernelStats struct {
	SlabPerConn   float64 `json:"slab_bytes_per_conn"`
	TCPMemPerConn float64 `json:"tcp_mem_bytes_per_conn"`
}

// SelfStats is wsbench's own resource use, all its processes.
type SelfStats struct {
	RSSBase  int64 `json:"rss_base"` // with the first 1% (≤ 200) connections of each process open
	RSSReady int64 `json:"rss_ready"`
	// BytesPerConn is the marginal RSS of a connection: the growth from the
	// base to all connections open, over the connections added.
	BytesPerConn     float64 `json:"rss_bytes_per_conn"`
	HeapBytesPerConn float64 `json:"heap_bytes_per_conn"`
	// TotalBytesPerConn is all of wsbench's RSS with every connection
	// open over those connections: each process's fixed cost included.
	TotalBytesPerConn  float64 `json:"rss_total_bytes_per_conn"`
	CPUSeconds         float64 `json:"cpu_seconds"`
	CoresDuringLoad    float64 `json:"cores_during_load"`
	CoresDuringConnect float64 `json:"cores_during_connect"`
	// ShareOfCPU is wsbench's part of the CPU used by wsbench and the
	// server together during the load (or the ramp, for connect).
	ShareOfCPU float64 `json:"share_of_cpu,omitempty"`
}

// HostLoad is the whole host's CPU use beside the server's and wsbench's:
// other processes and kernel threads (ksoftirqd) competing for the cores
// while the figures were measured.
type HostLoad struct {
	BusyCoresDuringConnect  float64 `json:"busy_cores_during_connect"`
	OtherCoresDuringConnect float64 `json:"other_cores_during_connect"`
	BusyCoresDuringLoad     float64 `json:"busy_cores_during_load,omitempty"`
	OtherCoresDuringLoad    float64 `json:"other_cores_during_load,omitempty"`
}

// Point is one second of the run, for the timeline chart.
type Point struct {
	T        float64 `json:"t"`
	Open     int64   `json:"open"`
	Rate     float64 `json:"msgs_per_sec"` // deliveries or echo replies
	P99      int64   `json:"p99_us"`
	Attempts int64   `json:"attempted"`
}

// WriteJSON writes r to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// WriteTable prints the final report.
func (r *Report) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	row := func(k string, format string, args ...any) {
		fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, args...))
	}
	title := r.Scenario
	if r.Label != "" {
		title += " (" + r.Label + ")"
	}
	row("scenario", "%s, %d process(es), %d loop(s) each", title, r.Settings.Procs, r.Settings.Loops)
	if f := r.Failure; f != nil {
		row("RUN FAILED", "at the %s: %s; reached %d of %d planned connections (%d failed, %d open then)", f.Stage, f.Reason, f.Opened, f.Planned, f.Failed, f.Open)
	}
	if r.Settings.TLS != "" {
		row("tls", "%s", r.Settings.TLS)
	}
	if r.Settings.ProxyProtocol != "" {
		row("proxy protocol", "%s", r.Settings.ProxyProtocol)
	}
	if st := r.Settings; len(st.Headers)+len(st.Subprotocols)+len(st.PublishHeaders) > 0 {
		row("handshake", "headers [%s]; subprotocols [%s]; admin API headers [%s]",
			strings.Join(st.Headers, ", "), strings.Join(st.Subprotocols, ", "), strings.Join(st.PublishHeaders, ", "))
	}
	c := r.Connections
	row("connections", "%d planned, %d opened, %d failed; %d open when ready, %d at end", c.Planned, c.Opened, c.Failed, c.OpenAtReady, c.OpenAtEnd)
	if r.Settings.Deflate {
		row("deflate", "permessage-deflate offered; accepted on %d of %d opened connections", c.Deflated, c.Opened)
	}
	row("ramp", "%.2fs, %.0f conn/s", c.RampSeconds, c.PerSecond)
	row("connect time", "%s", r.ConnectTime)
	if len(r.Errors) > 0 {
		keys := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%d", k, r.Errors[k]))
		}
		row("errors", "%s", strings.Join(parts, " "))
	}
	if m := r.Messages; m != nil {
		row("published", "%d msgs in %.2fs (%.3g/s); errors %v", m.Published, m.LoadSeconds, m.PublishedPerSec, m.PublishErrors)
		row("deliveries", "%d (%.0f/s), expected %d, drained in %.2fs", m.Delivered, m.DeliveriesPerSec, m.Expected, m.DrainSeconds)
		row("lost / dup / out of order", "%d / %d / %d", m.Lost, m.Duplicates, m.OutOfOrder)
		if m.Survivors != c.OpenAtReady || m.Reconnects > 0 {
			row("survivors", "%d stable subscribers connected throughout lost %d; %d dropped and redialled", m.Survivors, m.LostSurvivors, m.Reconnects)
		}
		row("wire bytes/delivery", "%.1f B (%s %s payload; %s read)", m.WireBytesPerDelivery, bytesStr(int64(r.Settings.Payload)), r.Settings.PayloadKind, bytesStr(m.WireBytes))
	}
	if e := r.Echo; e != nil {
		row("echo", "%s: %d sent, %d received in %.2fs (%.0f msgs/s)", e.Mode, e.Sent, e.Received, e.Seconds, e.PerSec)
		row("wire bytes/reply", "%.1f B", e.WireBytesPerReply)
	}
	if ch := r.Churn; ch != nil {
		row("churn", "%d disconnects (%d completed), %.1f/s; gaps in churned subscribers %d", ch.Disconnects, ch.Completed, ch.PerSec, ch.LostInChurned)
	}
	if r.Latency != nil {
		row("latency", "%s", *r.Latency)
		row("latency uncorrected", "%s", *r.LatencyRaw)
	}
	if s := r.Server; s != nil {
		row("server RSS", "%s before, %s ready, %s end; %.0f B/conn", bytesStr(s.RSSBefore), bytesStr(s.RSSReady), bytesStr(s.RSSEnd), s.BytesPerConn)
		row("server CPU", "%.1f µs/handshake (%.2f cores while connecting)", s.CPUPerHandshakeUs, s.CoresDuringConnect)
		if s.CPUPerDeliveryUs > 0 {
			row("server CPU/delivery", "%.3f µs (%.2f cores during load)", s.CPUPerDeliveryUs, s.CoresDuringLoad)
		}
		if s.CPUPerEchoUs > 0 {
			row("server CPU/echo", "%.2f µs (%.2f cores during load)", s.CPUPerEchoUs, s.CoresDuringLoad)
		}
		if s.CPUIdleUsPerConnSec > 0 {
			row("server CPU/idle conn", "%.3f µs per connection per second held (%.3f cores for the %d)", s.CPUIdleUsPerConnSec, s.CPUIdleUsPerConnSec*float64(c.OpenAtReady)/1e6, c.OpenAtReady)
		}
	}
	if len(r.ServerCounters) > 0 {
		keys := make([]string, 0, len(r.ServerCounters))
		for k, v := range r.ServerCounters {
			if v != 0 {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%g", k, r.ServerCounters[k]))
		}
		row("server counters", "%s (growth over the load)", strings.Join(parts, " "))
	}
	if k := r.Kernel; k != nil {
		row("kernel memory/conn", "slab %.0f B, tcp_mem %.0f B (both ends)", k.SlabPerConn, k.TCPMemPerConn)
	}
	s := r.Self
	if c.OpenAtReady > 0 { // else nothing was held: no figure per connection
		row("wsbench memory", "%.0f B RSS/conn marginal, %.0f B total; %.0f B heap/conn", s.BytesPerConn, s.TotalBytesPerConn, s.HeapBytesPerConn)
		row("wsbench CPU", "%.2fs total; %.2f cores while connecting, %.2f during load; %.0f%% of wsbench+server CPU", s.CPUSeconds, s.CoresDuringConnect, s.CoresDuringLoad, 100*s.ShareOfCPU)
	}
	if h := r.Load; h != nil {
		row("host CPU", "%.2f cores busy while connecting (%.2f by others), %.2f during load (%.2f by others)",
			h.BusyCoresDuringConnect, h.OtherCoresDuringConnect, h.BusyCoresDuringLoad, h.OtherCoresDuringLoad)
	}
	for _, w := range r.Warnings {
		row("WARNING", "%s", w)
	}
	if len(r.Thresholds) > 0 {
		held := 0
		var failed []string
		for _, t := range r.Thresholds {
			if t.Pass {
				held++
			} else {
				failed = append(failed, fmt.Sprintf("%s (measured %s)", t.Condition, t.Measured))
			}
		}
		line := fmt.Sprintf("%d of %d conditions hold", held, len(r.Thresholds))
		if len(failed) > 0 {
			line += "; FAILED: " + strings.Join(failed, ", ")
		}
		row("fail-if", "%s", line)
	}
	_ = tw.Flush()
}

func (s Summary) String() string {
	if s.Count == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (n=%d)",
		usStr(s.P50), usStr(s.P90), usStr(s.P99), usStr(s.P999), usStr(s.Max), s.Count)
}

func usStr(us int64) string {
	switch {
	case us >= 10_000_000:
		return fmt.Sprintf("%.1fs", float64(us)/1e6)
	case us >= 10_000:
		return fmt.Sprintf("%.1fms", float64(us)/1e3)
	case us >= 1000:
		return fmt.Sprintf("%.2fms", float64(us)/1e3)
	}
	return fmt.Sprintf("%dµs", us)
}

func bytesStr(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}
