package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/wsgate/wsgate/admin"
	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/wsproto"
)

// newFlagSet declares every setting. Defaults shown by --help are the ones
// in force.
func newFlagSet(cfg *reactor.Config, opts *options, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("wsgate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: wsgate [serve] [flags]

Every flag can also be set as WSGATE_<FLAG> in the environment (upper case,
dashes as underscores, e.g. WSGATE_MAX_CONNS=50000) or in the --config TOML
file (max-conns = 50000; lists as arrays: allowed-origins = ["https://a",
"https://b"]). Command line > environment > file > default.

Sizes take a unit: 64KiB, 32MiB, 1.5GiB (powers of 1024) or 1KB, 10MB
(powers of 1000); a plain number is bytes. Durations are Go durations:
500ms, 10s, 1m30s.

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.Listen, "listen", reactor.DefaultListen, "`address` for WebSocket clients (/ws, /echo)")
	fs.StringVar(&opts.adminListen, "admin-listen", "127.0.0.1:8081", "`address` for the admin API (publish, health, metrics); keep it private")
	fs.IntVar(&opts.adminMaxConns, "admin-max-conns", admin.DefaultMaxConns, "admin API connections open at once (more wait in the kernel's backlog)")
	fs.StringVar(&opts.nodeID, "node-id", "", "node name used in message ids (default: random)")
	fs.IntVar(&cfg.Loops, "loops", 0, "event loops (0: one per CPU)")
	fs.BoolVar(&cfg.ReusePort, "reuseport", false, "let several processes listen on --listen (SO_REUSEPORT; several processes per host); without it a taken address is an error")
	fs.BoolVar(&cfg.SingleListener, "single-listener", false, "one listening socket whose acceptor hands connections to the loops, instead of one socket per loop accepting for itself")
	fs.Func("echo", "serve the /echo endpoint (anonymous, rate-limited like /ws): auto, on or off (default auto: on while authentication is off)", func(v string) error {
		switch reactor.EchoMode(v) {
		case reactor.EchoOn, reactor.EchoOff:
			cfg.Echo = reactor.EchoMode(v)
		case "auto":
			cfg.Echo = reactor.EchoAuto
		default:
			return fmt.Errorf("want auto, on or off")
		}
		return nil
	})

	fs.IntVar(&cfg.MaxConns, "max-conns", reactor.DefaultMaxConns, "WebSocket connections on this node (over: 503)")
	fs.IntVar(&cfg.MaxConnsPerIP, "max-conns-per-ip", 0, "WebSocket connections per client address, 0 for no cap (over: 503); behind a proxy, set --trusted-proxies so that clients, not the proxy, are counted")
	fs.IntVar(&cfg.MaxSockets, "max-sockets", 0, "open TCP sockets in any state, counted from accept (over: reset at once); 0: the open-file limit less the descriptors the node reserves, which is also the most allowed")
	fs.IntVar(&cfg.MaxHandshakes, "max-handshakes", 0, "sockets still in their opening handshake (over: reset at once); 0: a tenth of --max-sockets, at least 64")
	fs.IntVar(&cfg.MaxHandshakesPerIP, "max-handshakes-per-ip", 0, "sockets in their opening handshake per peer address, 0 for no cap (over: reset at once); behind a proxy, counted per client from the PROXY header (--proxy-protocol), else not at all")
	fs.IntVar(&cfg.IPv6Prefix, "ipv6-prefix", reactor.DefaultIPv6Prefix, "prefix `length` by which every per-address limit groups IPv6 peers (128: each address alone)")
	listVar(fs, &cfg.AllowedHosts, "allowed-hosts", "comma-separated `hosts` the Host header may name (ws.example.com, *.example.com, host:port); others get 403 (DNS-rebinding defence; default any)")
	fs.IntVar(&cfg.MaxPartialBytes, "max-partial-bytes", 0, "memory the node holds for messages received in part (over: the connection whose read passes it is closed 1013 too many partial messages); 0: a sixteenth of the memory the process may use, at least 256 MiB")
	fs.IntVar(&cfg.MaxChannels, "max-channels", 0, "channels with a subscriber on this node (over: error too_many_channels, 503 in a handshake); 0: one per 16 KiB of the memory the process may use, at least 10,000")
	sizeVar(fs, &cfg.Limits.MaxHeaderBytes, "max-header-bytes", wsproto.DefaultMaxHeaderBytes, "`size` of the handshake request's header block (over: 431)")
	sizeVar(fs, &cfg.Limits.MaxFrameSize, "max-frame-size", wsproto.DefaultMaxFrameSize, "`size` of a frame's payload (over: close 1009)")
	sizeVar(fs, &cfg.Limits.MaxMessageSize, "max-message-size", wsproto.DefaultMaxMessageSize, "`size` of a message (over: close 1009)")
	sizeVar(fs, &cfg.MaxDataSize, "max-data-size", reactor.DefaultMaxDataSize, "`size` of the data of one client publish (over: error too_large)")
	fs.Func("compression", "permessage-deflate (RFC 7692) for clients that offer it: on or off; each publication is compressed once for all its deflate subscribers and no connection keeps compression state (default on)", func(v string) error {
		switch v {
		case "on":
			cfg.Compression = reactor.CompressionOn
		case "off":
			cfg.Compression = reactor.CompressionOff
		default:
			return fmt.Errorf("want on or off")
		}
		return nil
	})
	sizeVar(fs, &cfg.CompressionMinSize, "compression-min-size", wsproto.CompressionMinSize, "`size` of the smallest payload sent compressed to a deflate client (smaller ones go as they are)")
	fs.IntVar(&cfg.MaxSubscriptions, "max-subscriptions", reactor.DefaultMaxSubscriptions, "channels per connection (over: error too_many_subscriptions)")
	sizeVar(fs, &cfg.MaxOutboundBytes, "max-outbound-bytes", 0, "`size` of the unsent data held per connection, deliveries and replies alike, before the slow policy applies (0: 1MiB, raised with /echo on to one echo of the largest message)")
	fs.Func("slow-policy", "what to do with a slow consumer: close (1008), drop (error frame \"dropped\" per channel) or conflate (keep each channel's latest publication until it reads again) (default close; [[namespace]] slow_policy sets it per channel pattern)", func(v string) error {
		if v != string(reactor.SlowClose) && v != string(reactor.SlowDrop) && v != string(reactor.SlowConflate) {
			return fmt.Errorf("want close, drop or conflate")
		}
		cfg.SlowPolicy = reactor.SlowPolicy(v)
		return nil
	})

	fs.DurationVar(&cfg.HandshakeTimeout, "handshake-timeout", reactor.DefaultHandshakeTimeout, "time to complete the upgrade request")
	fs.DurationVar(&cfg.PingInterval, "ping-interval", reactor.DefaultPingInterval, "silence after which the server pings")
	fs.DurationVar(&cfg.PongTimeout, "pong-timeout", reactor.DefaultPongTimeout, "time to answer a ping (over: close 1008)")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", 0, "time without a data message before close 1000 (0: off)")
	fs.DurationVar(&cfg.CloseTimeout, "close-timeout", reactor.DefaultCloseTimeout, "time a peer has to answer our close frame")
	fs.DurationVar(&cfg.DrainWindow, "drain-window", reactor.DefaultDrainWindow, "window over which a draining node spreads its 1001 closes")

	opts.nats.addFlags(fs)
	opts.hist.addFlags(fs)
	opts.sec.addFlags(fs, cfg)
	opts.edge.addFlags(fs, cfg)
	opts.hook.addFlags(fs)
	opts.pres.addFlags(fs)
	fs.IntVar(&cfg.MessageRate, "max-msg-rate", reactor.DefaultMessageRate, "messages per second a /ws client may send, -1 for no limit (over: error rate_limited, then close 1008)")
	fs.IntVar(&cfg.MessageBurst, "msg-burst", reactor.DefaultMessageBurst, "messages a /ws client may send in a burst")
	sizeVar(fs, &cfg.ByteRate, "max-byte-rate", reactor.DefaultByteRate, "`size` of the data a /ws client may send per second, -1 for no limit (over: error rate_limited)").noLimit = true
	fs.Float64Var(&cfg.HandshakeRatePerIP, "handshake-rate-per-ip", 0, "connection attempts per second from one client address, 0 for no limit (over: 429); behind a proxy, set --trusted-proxies so that clients, not the proxy, are counted")
	fs.IntVar(&cfg.HandshakeBurstPerIP, "handshake-burst-per-ip", 0, "connection attempts one address may make in a burst (0: twice the rate)")

	fs.StringVar(&opts.logFormat, "log-format", "text", "log `format`: text or json")
	fs.StringVar(&opts.logLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	addProfileFlags(fs, &opts.prof)
	return fs
}
