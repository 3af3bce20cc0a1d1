// Package bench is wsgate's load generator: WebSocket client connections
// held on gnet event loops, the load scenarios that drive them, latency
// histograms, server resource sampling and the reports BENCHMARKS.md is
// built from. cmd/wsbench turns flags into a Config and calls Run.
//
// # Connections
//
// Client connections live on gnet's client event loops: no goroutine,
// timer or channel per connection. A bounded pool of dialer goroutines
// (Config.Dialers, default 8) opens TCP connections at the configured
// rate, from the configured source addresses, and hands each socket to a
// loop (gnet.Client.EnrollContext). From then on the loop owns it: it sends
// the upgrade request as raw bytes, checks the 101 response and its
// Sec-WebSocket-Accept (wsproto.AcceptKey), and decodes frames with
// wsproto's client-side Decoder. The per-connection state (type conn) is
// one flat struct held to a size budget (TestConnStructBudget); gnet's conn,
// the socket addresses it keeps and its connection table add more. The
// report gives the measured marginal RSS per connection (BENCHMARKS.md,
// "wsbench itself").
//
// # Behind a load balancer
//
// A wss:// target is dialled with crypto/tls, which gnet's raw-socket loops
// cannot carry: those connections live on taskLoops instead (a goroutine
// running the same loop code, fed by one reader goroutine per connection;
// see tlsconn.go). Every connection pays a full handshake (no session
// cache), as new visitors do; the report records the TLS negotiated. The
// client's extra cost is not what is measured: the server's CPU, the TLS
// proxy's included when its PID is given, comes from /proc.
//
// With Config.ProxyProtocol every connection, the WebSocket publisher's
// too, starts with a PROXY header (v1 or v2) before its upgrade request,
// in the same write, or before the TLS handshake for wss://. Each claims
// its own client address, 10.0.0.0/8 plus its connection number, unless
// Config.ProxySource names one (proxyproto.go).
//
// # Compression
//
// With Config.Deflate every connection, the WebSocket publisher's too,
// offers permessage-deflate as browsers do ("permessage-deflate;
// client_max_window_bits", RFC 7692) and checks the answer (deflate.go): it
// must carry server_no_context_takeover, since wsbench inflates each message
// on its own, with the loop's shared Decoder (SetDeflate per connection) and
// a pooled inflater, so an idle connection keeps no window. A server that
// declines fails the connection (deflate_declined) and the run. wsbench
// never sends compressed. The report counts the connections that
// negotiated it, and for every broadcast the bytes the subscribers read off
// their sockets per delivery (per reply, for echo), compressed or not.
// Config.PayloadKind json fills each message with JSON that compresses as
// a real feed does, rather than the filler, which compresses to nothing.
// Config.ServerStatsURL reads the server's own counters (wsgate's
// /api/stats) at the load's start and end; bench/deflate-ab.sh checks with
// it that each publication is compressed once.
//
// # Tokens, headers and subprotocols
//
// Config.Headers ("Name: value" lines, ParseHeader) go into every upgrade
// request, the WebSocket publisher's too, and Config.Subprotocols into
// its Sec-WebSocket-Protocol: that is how a node that wants a token is
// loaded (wsbench --token-file sends a JWT as "Authorization: Bearer", or
// as the subprotocol wsgate.token.JWT beside wsgate.v1). The 101 must
// choose one of the subprotocols offered (RFC 6455 §4.1), else the
// connection fails as handshake_unoffered_subprotocol, or
// handshake_no_subprotocol when the server chose none. The lines are built
// once per shard (handshakeLines): a request costs no allocation more.
// Config.PublishHeaders go to the admin API instead (the HTTP publisher,
// the stats reads): wsgate's X-API-Key. Bounds: a name is an RFC 9110
// token, a value holds no control character (no CR or LF to smuggle a
// field in), the extra lines of one request total at most
// MaxExtraHeaderBytes (8 KiB), and fields wsbench writes itself (Host,
// Sec-WebSocket-Key, ...) are refused. The report names the headers,
// never their values, and leaves the token out of a token subprotocol.
//
// # Thresholds and progress for CI
//
// ParseThresholds reads wsbench --fail-if: a comma-separated list of
// FIGURE OP LIMIT, OP one of < <= > >= = !=. The figures (FigureHelp) are
// the message latency p50, p90, p99, p999 and max and the connect time's
// connect_p50 ... connect_max, durations whose limit carries its unit
// (50ms); the counts errors (the error table's total), opened, failed,
// open_at_end, lost, duplicates, out_of_order, delivered, publish_errors;
// the rates deliveries_per_sec, published_per_sec, echo_per_sec; and,
// with --server-pid, cpu_per_handshake_us, cpu_per_delivery_us,
// cpu_per_echo_us and server_bytes_per_conn. Threshold.Available refuses,
// before the run, a figure the scenario never measures (p99 in connect);
// Threshold.Check fails a condition whose figure the report lacks (no
// latency sample): a missing figure is no pass. wsbench prints each failed
// condition with the value measured and exits 3; Report.Thresholds keeps
// them all in the JSON. At most MaxThresholds (64) conditions,
// MaxThresholdBytes (4 KiB) per expression.
//
// Config.Progress gets the live status line a terminal redraws;
// Config.ProgressLines (a log, a CI job) gets instead a plain line every
// Config.ProgressEvery (default 5 s): "wsbench: progress" and key=value
// fields, no carriage return (statusFields).
//
// # Measuring
//
// Every message a publisher or echo client sends carries a stamp in its
// payload: publisher number, sequence number, intended send time and how
// late it was actually sent (see Stamp). Receivers record latency in
// HdrHistograms kept per event loop (microseconds, 3 significant digits,
// 1 µs to 1 h) and track sequence numbers per publisher (seqTrack) to count
// lost, duplicated and out-of-order deliveries.
//
// Fixed-rate senders stamp the time a message was due, not the time it went
// out, so a stalled server or a blocked sender shows up as latency for every
// message that should have been sent during the stall (coordinated-omission
// correction, as wrk2 does). The uncorrected latency, from the actual send
// time, is reported beside it.
//
// # Processes
//
// One process holds as many connections as its open-files limit allows.
// With Config.Procs > 1 the coordinator starts worker processes (wsbench
// worker), each holding a share of the connections under its own limit; they
// talk JSON lines over stdin/stdout (see worker.go) and send their
// histograms encoded, so the merged percentiles are exact.
//
// # Ramps, arrivals and lost connections
//
// The ramp dials at Config.ConnectRate, or along Config.RampStages, but its
// pace is the host's: it has no deadline from the plan, and fails only
// when no connection opens or fails for Config.RampStall. A failed run
// says where (Report.Failure: the ramp or the load, why, and the counts
// reached), and no figure per connection is computed when none was held.
// Churn is an open model: sessions are due by the clock at ChurnRate,
// evenly spaced or as a Poisson process (Config.Arrivals), whatever the
// server did with the last. With Config.Reconnect a stable subscriber the
// server drops redials another URL; the loss that counts is then the
// survivors' (the stable subscribers connected throughout), each
// publisher's highest number less what each survivor received.
//
// # Bounds
//
// Every phase has a deadline: connecting (Config.ConnectTimeout per
// connection, and Config.RampStall for the ramp), the hold or load
// duration, the drain after the last message (Config.DrainTimeout) and
// teardown. A run always ends by itself.
package bench
