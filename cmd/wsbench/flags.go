package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/wsgate/wsgate/bench"
)

// options are the command's own settings, beside bench.Config.
type options struct {
	quiet         bool
	cpuProfile    string
	progressEvery time.Duration     // plain progress lines when stderr is no terminal; 0: none
	failIf        []bench.Threshold // --fail-if, all lists joined
	tokenFile     string            // --token-file: a JWT, sent as tokenIn says
	tokenIn       string            // tokenInHeader or tokenInProtocol
	timelineCSV   string            // --timeline-csv
}

// Where --token-file's token travels.
const (
	tokenInHeader   = "header"   // Authorization: Bearer <jwt>
	tokenInProtocol = "protocol" // subprotocol wsgate.token.<jwt>, beside wsgate.v1
)

// Exit statuses.
const (
	exitOK        = 0
	exitRunFailed = 1
	exitUsage     = 2
	exitThreshold = 3 // a --fail-if condition failed
)

// listFlag is a repeatable flag; each use may also hold a comma-separated
// list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

var usageHead = `Usage: wsbench SCENARIO [flags]

Scenarios:
  connect    ramp --conns connections at --connect-rate, hold them for --hold;
             connect-time distribution, errors by kind, memory per connection
  broadcast  --conns subscribers over --channels channels (?channels=), a
             publisher at --rate msgs/s (0: max rate) of --payload bytes;
             end-to-end latency, deliveries/s, lost/duplicate/out-of-order
  echo       --conns connections on /echo, --rate msgs/s in all (fixed rate,
             latency corrected for coordinated omission) or 0: closed loop
  churn      a broadcast to --conns stable subscribers while --churn-conns
             others disconnect and reconnect at --churn-rate per second

Every phase is bounded in time and wsbench stops by itself. With
--server-pid (same host) it reports the server's RSS per connection and CPU
per handshake, delivery and echo.

Progress goes to stderr, the report to stdout. On a terminal a live status
line is redrawn; otherwise (a pipe, a CI log) a plain line is written every
--progress-every: "wsbench: progress" then key=value fields elapsed_s,
scenario, open, planned, conns_per_sec, errors and, under load,
msgs_per_sec and p99_us (rates and p99 over the interval).

A token-authenticated node: --token-file sends a JWT as "Authorization:
Bearer" (or, with --token-in protocol, as the subprotocol wsgate.token.JWT
beside wsgate.v1); --header adds any header to every upgrade request, the
WebSocket publisher's too; --publish-header adds one to the admin API's
requests (X-API-Key). A 101 must choose one of the --subprotocol offered.

Thresholds for CI: --fail-if 'p99<50ms,lost=0,errors=0' judges the report;
a condition is FIGURE OP LIMIT, OP one of < <= > >= = !=, a duration's
limit with its unit (50ms, 1.5s). A figure the scenario does not measure
(p99 in connect) is a usage error; one the run failed to measure (no
message latency at all) fails its condition. Figures:
` + bench.FigureHelp() + `
Exit status: 0 run completed and every --fail-if condition held, 1 run
failed, 2 bad usage, 3 a --fail-if condition failed (each is printed).

Flags:
`

func parseFlags(args []string, stderr io.Writer) (bench.Config, options, error) {
	var cfg bench.Config
	var opts options
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fs := newFlagSet(&cfg, &opts, stderr)
			fs.Usage()
			return cfg, opts, flag.ErrHelp
		}
		fs := newFlagSet(&cfg, &opts, stderr)
		fs.Usage()
		return cfg, opts, fmt.Errorf("missing scenario: connect, broadcast, echo or churn")
	}
	cfg.Scenario = args[0]
	fs := newFlagSet(&cfg, &opts, stderr)
	if err := fs.Parse(args[1:]); err != nil {
		return cfg, opts, err
	}
	if fs.NArg() > 0 {
		return cfg, opts, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if opts.progressEvery < 0 {
		return cfg, opts, fmt.Errorf("--progress-every %v: want a positive interval, or 0 for none", opts.progressEvery)
	}
	if err := applyToken(&cfg, opts); err != nil {
		return cfg, opts, err
	}
	for _, t := range opts.failIf {
		if err := t.Available(cfg); err != nil {
			return cfg, opts, err
		}
	}
	return cfg, opts, nil
}

// applyToken reads --token-file and adds its JWT to cfg where --token-in
// says. One token only: wsgate refuses a handshake that carries two.
func applyToken(cfg *bench.Config, opts options) error {
	if opts.tokenFile == "" {
		if opts.tokenIn != tokenInHeader {
			return fmt.Errorf("--token-in %s without --token-file", opts.tokenIn)
		}
		return nil
	}
	jwt, err := bench.ReadTokenFile(opts.tokenFile)
	if err != nil {
		return fmt.Errorf("--token-file: %w", err)
	}
	switch opts.tokenIn {
	case tokenInHeader:
		for _, h := range cfg.Headers {
			if name, _, _ := strings.Cut(h, ":"); strings.EqualFold(name, "Authorization") {
				return errors.New("--token-file and an Authorization --header: one token only")
			}
		}
		cfg.Headers = append(cfg.Headers, "Authorization: Bearer "+jwt)
	case tokenInProtocol:
		for _, p := range cfg.Subprotocols {
			if strings.HasPrefix(p, bench.TokenProtocolPrefix) {
				return fmt.Errorf("--token-file and a --subprotocol %s…: one token only", bench.TokenProtocolPrefix)
			}
		}
		if len(cfg.Subprotocols) == 0 {
			cfg.Subprotocols = []string{bench.ProtocolJSON}
		}
		cfg.Subprotocols = append(cfg.Subprotocols, bench.TokenProtocolPrefix+jwt)
	default:
		return fmt.Errorf("--token-in %q: want %s or %s", opts.tokenIn, tokenInHeader, tokenInProtocol)
	}
	return nil
}

// headerFlag is a repeatable "Name: value" flag, checked as it is read
// (bench.ParseHeader) and kept as "Name: value".
func headerFlag(dst *[]string) func(string) error {
	return func(v string) error {
		name, value, err := bench.ParseHeader(v)
		if err != nil {
			return err
		}
		*dst = append(*dst, name+": "+value)
		return nil
	}
}

func newFlagSet(cfg *bench.Config, opts *options, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("wsbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fs.PrintDefaults()
	}
	fs.Var((*listFlag)(&cfg.URLs), "url", "ws:// or wss:// `URL` of a server endpoint (repeatable or comma-separated; connections go round-robin), e.g. ws://127.0.0.1:8080/ws; wss:// goes through a TLS proxy in front of wsgate")
	fs.IntVar(&cfg.Conns, "conns", 1000, "connections (connect, echo) or stable subscribers (broadcast, churn)")
	fs.Float64Var(&cfg.ConnectRate, "connect-rate", bench.DefaultConnectRate, "new connections per `second`, over all processes")
	fs.Func("ramp", "a staged ramp in place of --connect-rate: `RATE/s:DURATION,...` (e.g. 500/s:10s,2000/s:30s), each rate over all processes, the last kept until every connection is dialled", func(v string) error {
		stages, err := bench.ParseRampStages(v)
		cfg.RampStages = stages
		return err
	})
	fs.DurationVar(&cfg.Hold, "hold", bench.DefaultHold, "connect: how long to hold the connections open")
	fs.DurationVar(&cfg.Duration, "duration", bench.DefaultDuration, "broadcast, echo, churn: how long the load runs")
	fs.DurationVar(&cfg.IdleBefore, "idle-before", 0, "broadcast, churn: hold the connections idle this long before the load and report the server's CPU per idle connection per second (needs --server-pid)")
	fs.IntVar(&cfg.Channels, "channels", 0, "channels; subscriber i joins channel i mod N with ?channels= (default 1; connect: 0, no subscription)")
	fs.StringVar(&cfg.ChannelPrefix, "channel-prefix", bench.DefaultChannelPrefix, "channel names are this `prefix` plus a number")
	fs.Float64Var(&cfg.Rate, "rate", 0, "messages per `second`: broadcast/churn publishing over all publishers (0: max rate, see --window); echo over all connections (0: closed loop)")
	fs.IntVar(&cfg.Payload, "payload", bench.DefaultPayload, "message size in `bytes` (the JSON data value; at least 48)")
	fs.StringVar(&cfg.PayloadKind, "payload-kind", bench.PayloadFiller, "what fills a message around its stamp: filler (a JSON string padded with 'x', compresses to nothing) or json (an object of quotes, field names repeated and values varied, compressing as real JSON does)")
	fs.BoolVar(&cfg.Deflate, "deflate", false, "every connection (the WebSocket publisher's too) offers permessage-deflate (RFC 7692) and inflates what comes compressed; a server that declines fails the run (deflate_declined)")
	fs.IntVar(&cfg.Publishers, "publishers", 1, "publishers, each sequential with its own sequence numbers")
	fs.StringVar(&cfg.PublishVia, "publish-via", bench.PublishHTTP, "how publishers send: http (admin API), ws (publish frames on /ws) or nats (straight on the bus, see --nats-url)")
	fs.StringVar(&cfg.SubscribeVia, "subscribe-via", bench.SubscribeURL, "how subscribers join their channel: url (?channels= in the upgrade) or frame (a subscribe frame after the 101; the handshake counts at its ack)")
	fs.StringVar(&cfg.NATSURL, "nats-url", "", "NATS server `URL` for --publish-via nats (the one the wsgate nodes share)")
	fs.StringVar(&cfg.NATSPrefix, "nats-prefix", "wsgate.ch", "subject `prefix` for --publish-via nats: channel C is published on PREFIX.C")
	fs.Var((*listFlag)(&cfg.PublishURLs), "publish-url", "admin API base `URL` for --publish-via http, e.g. http://127.0.0.1:8081 (repeatable: publisher i uses URL i mod N)")
	fs.BoolVar(&cfg.PublishAll, "publish-all", false, "post every message to every --publish-url (nodes that share no bus)")
	fs.IntVar(&cfg.Window, "window", bench.DefaultWindow, "max rate: messages per subscriber in flight before the publishers wait")
	fs.Float64Var(&cfg.ChurnRate, "churn-rate", 0, "churn: disconnects (each followed by a new connection) per `second`")
	fs.StringVar(&cfg.Arrivals, "arrivals", bench.ArrivalsUniform, "churn: how sessions arrive at --churn-rate, an open model either way: uniform (evenly spaced) or poisson (exponential gaps, as independent users)")
	fs.BoolVar(&cfg.Reconnect, "reconnect", false, "a stable subscriber the server drops (its node killed or drained) redials another --url, at random, after up to 2 s; the report then gives the loss of the subscribers that stayed connected")
	fs.IntVar(&cfg.ChurnConns, "churn-conns", 0, "churn: subscribers that are churned, beside the stable ones (default conns/10)")
	fs.StringVar(&cfg.SourceIPs, "source-ips", "", "local `addresses` to connect from, comma-separated addresses and ranges (127.0.0.2-127.0.0.250); each allows ~28k connections per server address")
	fs.Func("procs", "`N` processes holding connections, or auto: enough for the open-files limit (default auto)", func(v string) error {
		if v == "auto" {
			cfg.Procs = 0
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("want a positive number or auto")
		}
		cfg.Procs = n
		return nil
	})
	fs.IntVar(&cfg.Loops, "loops", 0, "event loops per process (default GOMAXPROCS/procs, at least 1)")
	fs.IntVar(&cfg.Dialers, "dialers", bench.DefaultDialers, "dialing goroutines per process")
	fs.DurationVar(&cfg.ConnectTimeout, "connect-timeout", bench.DefaultConnectTimeout, "time for one connection's dial and handshake")
	fs.DurationVar(&cfg.RampStall, "ramp-stall", 0, "fail the run when no connection opens or fails for this long during the ramp (default connect-timeout + 30s); the ramp has no other deadline")
	fs.DurationVar(&cfg.DrainTimeout, "drain-timeout", bench.DefaultDrainTimeout, "after the load, the longest wait for messages in flight")
	fs.StringVar(&cfg.TLSCAFile, "tls-ca", "", "wss://: PEM `file` of the roots to trust (default the system's)")
	fs.BoolVar(&cfg.TLSInsecure, "tls-insecure", false, "wss://: do not verify the server's certificate (a warning says so)")
	fs.StringVar(&cfg.TLSServerName, "tls-server-name", "", "wss://: `name` sent as SNI and verified (default the URL's host)")
	fs.StringVar(&cfg.ProxyProtocol, "proxy-protocol", "", "PROXY protocol `version`, v1 or v2: every connection (publisher too) starts with a PROXY header, as from a load balancer")
	fs.StringVar(&cfg.ProxySource, "proxy-source", "", "with --proxy-protocol: the client `address` every header claims (default one per connection from 10.0.0.0/8)")
	fs.Func("server-pid", "`PID` of a server on this host to sample from /proc (repeatable or comma-separated: summed)", func(v string) error {
		for _, s := range strings.Split(v, ",") {
			pid, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || pid <= 0 {
				return fmt.Errorf("bad pid %q", s)
			}
			cfg.ServerPIDs = append(cfg.ServerPIDs, pid)
		}
		return nil
	})
	fs.StringVar(&cfg.ServerStatsURL, "server-stats", "", "`URL` of the server's JSON counters (wsgate: http://ADMIN/api/stats), read at the load's start and end: the report gives each one's growth")
	fs.StringVar(&cfg.JSONFile, "json", "", "write the report as JSON to `file`")
	fs.StringVar(&cfg.PlotFile, "plot", "", "write a latency-distribution and connections-over-time chart to `file` (.svg or .png)")
	fs.StringVar(&opts.timelineCSV, "timeline-csv", "", "write the run's per-second timeline (open connections, rate, p99, attempts) as CSV to `file`")
	fs.StringVar(&cfg.Label, "label", "", "name of the run in the report (e.g. the server under test)")
	fs.Func("header", "`Name: value` added to every upgrade request, the WebSocket publisher's too (repeatable), e.g. 'Authorization: Bearer JWT'; at most 8 KiB of extra lines with the subprotocols", headerFlag(&cfg.Headers))
	fs.Var((*listFlag)(&cfg.Subprotocols), "subprotocol", "`names` offered in Sec-WebSocket-Protocol (comma-separated or repeatable), e.g. wsgate.v1; the 101 must choose one (else handshake_no_subprotocol or handshake_unoffered_subprotocol)")
	fs.Func("publish-header", "`Name: value` added to every admin API request, the --publish-via http publications and the --server-stats reads (repeatable), e.g. 'X-API-Key: KEY'", headerFlag(&cfg.PublishHeaders))
	fs.StringVar(&opts.tokenFile, "token-file", "", "`file` holding a JWT, sent on every upgrade request (the WebSocket publisher's too) as --token-in says")
	fs.StringVar(&opts.tokenIn, "token-in", tokenInHeader, "where --token-file's JWT goes: header (Authorization: Bearer JWT) or protocol (subprotocol wsgate.token.JWT, offered beside wsgate.v1 or the --subprotocol list)")
	fs.Func("fail-if", "`conditions` the report must meet, e.g. 'p99<50ms,lost=0,errors=0' (repeatable); any failed one is printed and exits 3", func(v string) error {
		ts, err := bench.ParseThresholds(v)
		if err != nil {
			return err
		}
		if len(opts.failIf)+len(ts) > bench.MaxThresholds {
			return fmt.Errorf("more than %d conditions", bench.MaxThresholds)
		}
		opts.failIf = append(opts.failIf, ts...)
		return nil
	})
	fs.DurationVar(&opts.progressEvery, "progress-every", bench.DefaultProgressEvery, "when stderr is no terminal: a plain key=value progress line every `interval` (0: none)")
	fs.BoolVar(&opts.quiet, "quiet", false, "no progress at all: no live status line on a terminal, no progress lines elsewhere")
	fs.StringVar(&opts.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (the coordinator, and the connections with --procs 1) to `file`")
	return fs
}
