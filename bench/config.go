package bench

import (
	"io"
	"net/http"
	"net/netip"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// Scenarios.
const (
	ScenarioConnect   = "connect"
	ScenarioBroadcast = "broadcast"
	ScenarioEcho      = "echo"
	ScenarioChurn     = "churn"
)

// Ways a broadcast publisher sends.
const (
	PublishHTTP = "http" // POST {"channel","data"} to each --publish-url's /api/publish
	PublishWS   = "ws"   // {"type":"publish"} frames on a WebSocket to the first --url
	PublishNATS = "nats" // straight to the bus, on subject <NATSPrefix>.<channel>
)

// How churn's sessions arrive (Config.Arrivals).
const (
	ArrivalsUniform = "uniform"
	ArrivalsPoisson = "poisson"
)

// Ways a subscriber joins its channel (Config.SubscribeVia).
const (
	SubscribeURL   = "url"   // ?channels= in the upgrade request
	SubscribeFrame = "frame" // {"type":"subscribe","channel":C,"id":1} after the 101, waiting for the ack
)

// Defaults for Config; each field's comment names its default.
const (
	DefaultConnectRate   = 5000
	DefaultHold          = 5 * time.Second
	DefaultDuration      = 10 * time.Second
	DefaultChannels      = 1
	DefaultChannelPrefix = "bench."
	DefaultPayload       = 64
	// DefaultWindow lets a server that writes all frames queued for a
	// connection at once show it: a window of 8 capped that at 8 frames
	// per write; with 64 wsgate's max-rate broadcast costs a quarter of
	// what it did (BENCHMARKS.md); much more only adds latency.
	DefaultWindow         = 64
	DefaultDialers        = 8
	DefaultConnectTimeout = 10 * time.Second
	DefaultDrainTimeout   = 10 * time.Second
	DefaultProgressEvery  = 5 * time.Second
	// fdReserve is the open files a process keeps for itself (listeners,
	// pipes, /proc reads) below its limit when sizing --procs auto.
	fdReserve = 200
	// portsPerSource is about how many connections one source address can
	// open to one server address and port (net.ipv4.ip_local_port_range).
	portsPerSource = 28_000
)

// Config is one wsbench run. The zero value of every field but Scenario
// and URLs means its default.
type Config struct {
	Scenario string   // connect, broadcast, echo or churn
	URLs     []string // ws:// or wss:// targets; connections are spread over them round-robin

	Conns       int     // connections (connect, echo) or subscribers (broadcast, churn)
	ConnectRate float64 // new connections per second over all processes; default 5000
	// RampStages, if any, replace ConnectRate: the ramp opens connections
	// at each stage's rate (over all processes) for its time, then at the
	// last stage's rate until all are dialled.
	RampStages []RampStage
	Hold       time.Duration // connect: how long to hold them open; default 5s
	Duration   time.Duration // broadcast, echo, churn: load duration; default 10s
	// IdleBefore (broadcast, churn) holds the connections idle this long
	// before the load and reports the server's CPU per idle connection per
	// second over it; 0: none.
	IdleBefore time.Duration

	Channels      int    // broadcast, churn, connect: subscriber i joins channel i % Channels; default 1 (connect: 0, none)
	ChannelPrefix string // channel names are prefix + number; default "bench."
	// SubscribeVia is how a subscriber joins its channel: SubscribeURL
	// (default, ?channels= in the upgrade request) or SubscribeFrame (a
	// {"type":"subscribe"} frame after the 101; the connection counts as
	// handshaken when the ack arrives, as a client library waits for it).
	SubscribeVia string
	Rate         float64
	// Rate is messages per second: broadcast and churn publish at it over
	// all publishers (0: max rate, bounded by Window); echo sends at it over
	// all connections (0: closed loop, one message in flight per connection).
	Payload     int      // message size in bytes of JSON data; default 64
	PayloadKind string   // what fills it: PayloadFiller (default) or PayloadJSON
	Deflate     bool     // every connection, the WebSocket publisher's too, offers permessage-deflate and must get it
	Publishers  int      // broadcast, churn: publishers, each with its own sequence numbers; default 1
	PublishVia  string   // http (default), ws or nats
	PublishURLs []string // admin API base URLs for --publish-via http
	PublishAll  bool     // publish every message on every PublishURL (nodes without a shared bus)
	NATSURL     string   // --publish-via nats: the NATS server the nodes share
	NATSPrefix  string   // --publish-via nats: subject prefix; default "wsgate.ch"
	Window      int      // max rate: messages per subscriber in flight before the publisher waits; default 64

	ChurnRate float64 // churn: reconnects per second
	// Reconnect redials a stable subscriber the server drops (its node
	// killed, drained), to another URL at random after a random delay of
	// up to 2 s;
	// the loss that counts is then the survivors' (MessageStats).
	Reconnect bool
	// Arrivals is how churn's sessions arrive at ChurnRate: ArrivalsUniform
	// (default, evenly spaced) or ArrivalsPoisson (exponential gaps, as
	// independent users arrive). Either way an open model: due by the
	// clock, not when the server is done with the last.
	Arrivals   string
	ChurnConns int // churn: subscribers that are churned (beside Conns stable ones); default Conns/10

	SourceIPs      string // "127.0.0.2-127.0.0.250,…": local addresses to connect from
	Procs          int    // processes holding connections; 0: as many as the open-files limit needs
	Loops          int    // event loops per process; default GOMAXPROCS / Procs, at least 1
	Dialers        int    // dialing goroutines per process; default 8
	ConnectTimeout time.Duration
	// RampStall is how long the ramp may go with no connection opening or
	// failing before the run fails; default ConnectTimeout + 30 s. The
	// ramp has no other deadline: it goes at the pace the host sustains.
	RampStall    time.Duration
	DrainTimeout time.Duration // after the load: the longest wait for messages in flight; default 10s

	TLSCAFile     string // wss://: PEM roots to trust; default the system's
	TLSInsecure   bool   // wss://: do not verify the server's certificate (reported loudly)
	TLSServerName string // wss://: SNI and the name verified; default the URL's host
	ProxyProtocol string // "v1" or "v2": every connection starts with a PROXY header
	ProxySource   string // with ProxyProtocol: the client address of every connection; default one per connection from 10.0.0.0/8

	// Headers are "Name: value" lines (ParseHeader) added to every upgrade
	// request, the WebSocket publisher's too: a token ("Authorization:
	// Bearer …"), a cookie. Fields wsbench writes itself are refused.
	Headers []string
	// Subprotocols are offered in every upgrade request's
	// Sec-WebSocket-Protocol, in order; the 101 must choose one of them
	// (else handshake_no_subprotocol or handshake_unoffered_subprotocol).
	Subprotocols []string
	// PublishHeaders are "Name: value" lines added to every admin API
	// request: --publish-via http's POSTs (wsgate's X-API-Key) and the
	// ServerStatsURL reads. Headers do not go there: another server,
	// another credential.
	PublishHeaders []string

	ServerPIDs []int // processes to sample from /proc (the servers, on this host)
	// ServerStatsURL is a server's JSON counters (wsgate: the admin API's
	// /api/stats), read when the load starts and when it has drained: the
	// report gives each numeric field's growth over the load.
	ServerStatsURL string
	JSONFile       string // write the report as JSON here
	PlotFile       string // write a chart here (.svg or .png)
	Label          string // names the run in the report (e.g. the server's name)

	Progress io.Writer // live one-line progress (a terminal), or nil
	// ProgressLines gets a plain progress line every ProgressEvery
	// (default 5s): key=value fields, no carriage return, for a log or CI
	// (see statusFields). nil: none.
	ProgressLines io.Writer
	ProgressEvery time.Duration
	Log           io.Writer // notes and warnings; default io.Discard
	Self          string    // wsbench binary for worker processes; default os.Executable
	Worker        []string  // arguments that start a worker; default ["worker"]
}

func (c Config) withDefaults() Config {
	if c.ConnectRate == 0 {
		c.ConnectRate = DefaultConnectRate
	}
	if c.Hold == 0 {
		c.Hold = DefaultHold
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.Channels == 0 && c.Scenario != ScenarioConnect {
		c.Channels = DefaultChannels
	}
	if c.ChannelPrefix == "" {
		c.ChannelPrefix = DefaultChannelPrefix
	}
	if c.Payload == 0 {
		c.Payload = DefaultPayload
	}
	if c.PayloadKind == "" {
		c.PayloadKind = PayloadFiller
	}
	if c.Publishers == 0 {
		c.Publishers = 1
	}
	if c.NATSPrefix == "" {
		c.NATSPrefix = "wsgate.ch"
	}
	if c.PublishVia == "" {
		c.PublishVia = PublishHTTP
	}
	if c.SubscribeVia == "" {
		c.SubscribeVia = SubscribeURL
	}
	if c.Arrivals == "" {
		c.Arrivals = ArrivalsUniform
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.Scenario == ScenarioChurn && c.ChurnConns == 0 {
		c.ChurnConns = max(c.Conns/10, 1)
	}
	if c.Scenario != ScenarioChurn {
		c.ChurnConns, c.ChurnRate = 0, 0
	}
	if c.Procs == 0 {
		c.Procs = autoProcs(c.Conns + c.ChurnConns)
	}
	if c.Loops == 0 {
		c.Loops = max(runtime.GOMAXPROCS(0)/c.Procs, 1)
	}
	if c.Dialers == 0 {
		c.Dialers = DefaultDialers
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.RampStall == 0 {
		c.RampStall = c.ConnectTimeout + 30*time.Second
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	if c.ProgressEvery == 0 {
		c.ProgressEvery = DefaultProgressEvery
	}
	if len(c.Worker) == 0 {
		c.Worker = []string{"worker"}
	}
	return c
}

// perProc divides each stage's rate among procs processes.
func perProc(stages []RampStage, procs int) []RampStage {
	if len(stages) == 0 {
		return nil
	}
	out := make([]RampStage, len(stages))
	for i, s := range stages {
		out[i] = RampStage{Rate: s.Rate / float64(procs), For: s.For}
	}
	return out
}

// fdLimit is this process's hard open-files limit, which a worker process
// can raise its soft limit to (Go does so at start-up).
func fdLimit() int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil || rl.Max > 1<<30 {
		return 1 << 20
	}
	return int(rl.Max)
}

// autoProcs is the fewest processes that hold conns connections, each
// under its open-files limit.
func autoProcs(conns int) int {
	per := max(fdLimit()-fdReserve, 1)
	return max((conns+per-1)/per, 1)
}

// publishHeader is PublishHeaders for net/http (valid ones: Validate has
// refused the others).
func (c Config) publishHeader() http.Header {
	h := http.Header{}
	for _, l := range c.PublishHeaders {
		if name, value, err := ParseHeader(l); err == nil {
			h.Add(name, value)
		}
	}
	return h
}

// plans splits the run into one Plan per process.
func (c Config) plans(salt uint64) ([]Plan, error) {
	var targets []Target
	for _, u := range c.URLs {
		t, err := ParseTarget(u)
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}
	ips, err := ParseSourceIPs(c.SourceIPs)
	if err != nil {
		return nil, err
	}
	proxy, err := c.proxyOptions()
	if err != nil {
		return nil, err
	}
	echoRate := 0.0
	if c.Scenario == ScenarioEcho && c.Rate > 0 {
		echoRate = c.Rate / float64(c.Conns)
	}
	channels := c.Channels
	if c.Scenario == ScenarioEcho {
		channels = 0
	}
	var plans []Plan
	for i := range c.Procs {
		lo, hi := c.Conns*i/c.Procs, c.Conns*(i+1)/c.Procs
		clo, chi := c.ChurnConns*i/c.Procs, c.ChurnConns*(i+1)/c.Procs
		plans = append(plans, Plan{
			Targets:        targets,
			SourceIPs:      rotate(ips, i*len(ips)/c.Procs),
			FirstID:        uint64(lo),
			Count:          hi - lo,
			ChurnFirstID:   uint64(c.Conns + clo),
			Churn:          chi - clo,
			ConnectRate:    c.ConnectRate / float64(c.Procs),
			RampStages:     perProc(c.RampStages, c.Procs),
			Channels:       channels,
			ChannelPrefix:  c.ChannelPrefix,
			SubscribeFrame: c.SubscribeVia == SubscribeFrame,
			Echo:           c.Scenario == ScenarioEcho,
			Publishers:     c.Publishers,
			Payload:        c.Payload,
			PayloadKind:    c.PayloadKind,
			Deflate:        c.Deflate,
			EchoRate:       echoRate,
			ChurnRate:      c.ChurnRate / float64(c.Procs),
			Poisson:        c.Arrivals == ArrivalsPoisson,
			Reconnect:      c.Reconnect,
			Loops:          c.Loops,
			Dialers:        c.Dialers,
			ConnectTimeout: c.ConnectTimeout,
			Salt:           salt,
			TLS:            c.tlsOptions(),
			Proxy:          proxy,
			Headers:        c.Headers,
			Subprotocols:   c.Subprotocols,
		})
	}
	return plans, nil
}

// rotate returns ips starting at k, so processes start on different
// source addresses.
func rotate(ips []netip.Addr, k int) []netip.Addr {
	if len(ips) == 0 {
		return nil
	}
	k %= len(ips)
	return append(append([]netip.Addr(nil), ips[k:]...), ips[:k]...)
}
