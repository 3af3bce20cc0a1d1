// Package reactor is a wsgate node: gnet event loops that hold the
// WebSocket connections, the channels they subscribe to, and the timers
// and limits that keep each one bounded.
//
// # Loops own connections
//
// There is no goroutine per connection. Each event loop (Config.Loops, one
// per CPU by default) owns its connections outright: their state (conn, 160
// bytes, guarded by a size test), their place in the loop's timing wheel
// (handshake, ping, pong, idle, close and drain deadlines, O(1) to move),
// and their subscriptions in the loop's topics. Nothing a loop owns is
// locked; other goroutines reach a loop only through gnet's Execute.
//
// By default every loop listens on its own SO_REUSEPORT socket and accepts
// for itself, so a new connection never crosses threads; this more than
// halves the CPU per handshake against one acceptor handing connections
// over (Config.SingleListener; make bench-listener measures both). Start still refuses an address
// another process listens on unless Config.ReusePort asks to share it.
//
// # Sockets count from accept
//
// gnet accepts on each loop's listener and calls OnOpen on the same loop
// before a byte is read; OnOpen counts the socket against MaxSockets, and
// against MaxHandshakes and MaxHandshakesPerIP until it upgrades, and
// resets it at once (SO_LINGER 0) past any of them. MaxSockets stays
// ReservedFDs below the open-file limit (and, with SingleListener, the
// listen backlog, which gnet's one acceptor empties before any OnOpen
// runs), and every other descriptor user
// in the process is bounded inside that reserve (the admin listener's
// connection cap, the embedded NATS server's, the relay's one client), so
// the accept gnet makes always finds a descriptor: gnet v2.9.7 treats any
// accept error but EAGAIN, EINTR, ECONNRESET and ECONNABORTED as fatal and
// stops every loop, and offers no hook to catch it. The kernel-wide
// failures (ENFILE past fs.file-max for an unprivileged process, ENOMEM,
// ENOBUFS) remain fatal there; they are counted from gnet's log line
// (wsgate_accept_errors_total), the node exits 1 and its supervisor
// restarts it. The fix belongs in gnet: on those errors an acceptor
// should take the listener out of its poller for a back-off and keep
// serving (docs/security.md describes the change to propose upstream).
// Accepting on sockets the reactor owns would have avoided the question,
// but gnet adopts a socket accepted elsewhere only as a dup handed to a
// loop from another goroutine: through Engine.Register (a hop through its
// goroutine pool) or a gnet Client's Enroll (an engine with no listener,
// hence no accept to fail). On the bare gnet floor either more than doubles
// the CPU per handshake, the thread hand-offs taking most of it, and adds a
// quarter to a third to the memory per connection (make bench-accept,
// bench/results-accept/), more than the kernel-wide failures it would
// survive are worth.
//
// # Bytes in
//
// The handshake and frames are parsed from the bytes gnet has already read
// (wsproto's incremental scanner and decoder), where they lie: one decoder
// per loop serves every connection between messages, and a connection keeps
// decoder state of its own only while a frame or message is incomplete. The
// steady path allocates nothing per frame.
//
// # Bytes out
//
// A publication is framed once (a refcounted wsproto.Prepared) and the hub
// hands it to each loop with subscribers once. A loop gathers what arrives
// while it is busy into one batch; every frame of the batch due to one
// connection leaves in one writev, straight to the socket while gnet's
// outbound buffer is empty. Unsent bytes per connection are capped
// (Config.MaxOutboundBytes); past the cap each publication gets its
// channel's policy (Config.SlowPolicy, or Config.SlowPolicyFor): the
// connection is closed (1008), or the publication dropped and the client
// told per channel, or only the channel's latest kept for when it catches
// up (slow.go).
// Replies (acks, errors, pongs, pings, notices, echoes) count against the
// same cap; they are never dropped, so past it the connection is closed.
//
// # Bounds
//
// Every queue and buffer has a limit in Config, each with a documented
// default: sockets per node, handshakes per node and per address,
// connections per node and per address (IPv6 grouped by prefix), handshake
// size and time, frame and message sizes, subscriptions per connection and
// channels per node, outbound bytes, rates per connection and per address.
// The relay's Publish and Interest never block (relay's contract), so no
// bus I/O happens on a loop or under the hub's lock. Drain refuses new connections with
// 503 and spreads close 1001 over a window so clients do not reconnect all
// at once.
package reactor
