// Package reactor is a wsgate node: gnet event loops that hold the
// WebSocket connections, the channels they subscribe to, and the timers
// and limits that keep each one bounded.
//
// # Loops own connections
//
// There is no goroutine per connection. Each event loop (Config.Loops, one
// per CPU by default) owns its connections outright: their state (conn, 128
// bytes, guarded by a size test), their place in the loop's timing wheel
// (handshake, ping, pong, idle, close and drain deadlines, O(1) to move),
// and their subscriptions in the loop's topics. Nothing a loop owns is
// locked; other goroutines reach a loop only through gnet's Execute.
//
// By default every loop listens on its own SO_REUSEPORT socket and accepts
// for itself, so a new connection never crosses threads; this more than
// halves the CPU per handshake against one acceptor handing connections
// over (Config.SingleListener; 35 vs 85 µs on the development VM,
// bench/listener-ab.sh). Start still refuses an address
// another process listens on unless Config.ReusePort asks to share it.
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
// (Config.MaxOutboundBytes); past the cap the connection is closed (1008)
// or the frame is dropped and the client told, per Config.SlowPolicy.
//
// # Bounds
//
// Every queue and buffer has a limit in Config, each with a documented
// default: connections per node and per address, handshake size and time,
// frame and message sizes, subscriptions per connection, outbound bytes,
// rates per connection and per address. Drain refuses new connections with
// 503 and spreads close 1001 over a window so clients do not reconnect all
// at once.
package reactor
