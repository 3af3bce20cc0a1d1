package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/wsgate/wsgate/bench"
)

// options are the command's own settings, beside bench.Config.
type options struct {
	quiet      bool
	cpuProfile string
}

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

const usageHead = `Usage: wsbench SCENARIO [flags]

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
per handshake, delivery and echo. A live status line is shown on a terminal
only. Exit status: 0 run completed, 1 run failed, 2 bad usage.

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
	return cfg, opts, nil
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
	fs.DurationVar(&cfg.Hold, "hold", bench.DefaultHold, "connect: how long to hold the connections open")
	fs.DurationVar(&cfg.Duration, "duration", bench.DefaultDuration, "broadcast, echo, churn: how long the load runs")
	fs.IntVar(&cfg.Channels, "channels", 0, "channels; subscriber i joins channel i mod N with ?channels= (default 1; connect: 0, no subscription)")
	fs.StringVar(&cfg.ChannelPrefix, "channel-prefix", bench.DefaultChannelPrefix, "channel names are this `prefix` plus a number")
	fs.Float64Var(&cfg.Rate, "rate", 0, "messages per `second`: broadcast/churn publishing over all publishers (0: max rate, see --window); echo over all connections (0: closed loop)")
	fs.IntVar(&cfg.Payload, "payload", bench.DefaultPayload, "message size in `bytes` (the JSON data value; at least 48)")
	fs.StringVar(&cfg.PayloadKind, "payload-kind", bench.PayloadFiller, "what fills a message around its stamp: filler (a JSON string padded with 'x', compresses to nothing) or json (an object of quotes, field names repeated and values varied, compressing as real JSON does)")
	fs.BoolVar(&cfg.Deflate, "deflate", false, "every connection (the WebSocket publisher's too) offers permessage-deflate (RFC 7692) and inflates what comes compressed; a server that declines fails the run (deflate_declined)")
	fs.IntVar(&cfg.Publishers, "publishers", 1, "publishers, each sequential with its own sequence numbers")
	fs.StringVar(&cfg.PublishVia, "publish-via", bench.PublishHTTP, "how publishers send: http (admin API), ws (publish frames on /ws) or nats (straight on the bus, see --nats-url)")
	fs.StringVar(&cfg.NATSURL, "nats-url", "", "NATS server `URL` for --publish-via nats (the one the wsgate nodes share)")
	fs.StringVar(&cfg.NATSPrefix, "nats-prefix", "wsgate.ch", "subject `prefix` for --publish-via nats: channel C is published on PREFIX.C")
	fs.Var((*listFlag)(&cfg.PublishURLs), "publish-url", "admin API base `URL` for --publish-via http, e.g. http://127.0.0.1:8081 (repeatable: publisher i uses URL i mod N)")
	fs.BoolVar(&cfg.PublishAll, "publish-all", false, "post every message to every --publish-url (nodes that share no bus)")
	fs.IntVar(&cfg.Window, "window", bench.DefaultWindow, "max rate: messages per subscriber in flight before the publishers wait")
	fs.Float64Var(&cfg.ChurnRate, "churn-rate", 0, "churn: disconnects (each followed by a new connection) per `second`")
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
	fs.StringVar(&cfg.Label, "label", "", "name of the run in the report (e.g. the server under test)")
	fs.BoolVar(&opts.quiet, "quiet", false, "no live status line even on a terminal")
	fs.StringVar(&opts.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (the coordinator, and the connections with --procs 1) to `file`")
	return fs
}
