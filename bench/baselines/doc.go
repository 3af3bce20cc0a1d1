// Package baselines holds the comparison servers wsgate is measured
// against in BENCHMARKS.md, written with the libraries users would
// otherwise pick. They live in their own module so their dependencies never
// reach wsgate's go.mod.
//
// Every server speaks the same subset of wsgate's protocol, enough for
// wsbench's scenarios:
//
//	GET /ws?channels=a,b       WebSocket; subscribed to a and b; frames from the client are ignored
//	GET /echo                  WebSocket; every message comes back with its opcode
//	POST /api/publish          on the admin address: {"channel":"a","data":<JSON>};
//	                           subscribers of a get {"type":"message","channel":"a","data":<JSON>}
//
// The servers, each written as a competent user of its library would write
// it, following the library author's own examples and benchmark servers
// (each file's header names the ones it follows):
//
//   - gorillahub: github.com/gorilla/websocket in the hub pattern of
//     gorilla's chat example: a read goroutine and a write goroutine per
//     connection (the upgrade handler starts both and returns), a buffered
//     send channel, broadcasts framed once with PreparedMessage, and, as
//     gorilla's doc.go advises for many mostly idle connections, a
//     WriteBufferPool (no write buffer held while idle) and a read buffer
//     sized to what clients send.
//   - nbiohub (nbiohub --flavour tuned, the default):
//     github.com/lesismal/nbio's event-loop HTTP engine (nbhttp) and its
//     websocket upgrader with the settings of nbio's author's benchmark
//     servers (lesismal/go-websocket-benchmark, lesismal/nbio-examples):
//     IOModNonBlocking, one poller and one SO_REUSEPORT listener per P,
//     ReleaseWebsocketPayload, the memory pool sized up front, no
//     per-connection read deadline; and an asynchronous fan-out: publish
//     frames the message once, hands it to one worker goroutine per P and
//     returns; each worker owns a share of the subscribers and writes every
//     frame a subscriber is owed in a batch with one Writev on its
//     nbio.Conn.
//   - nbiohub-naive (nbiohub --flavour naive): the first version of the nbio
//     baseline, kept for comparison: one listener, nbio's defaults, a
//     10-minute read deadline (one timer) per connection, and a publication
//     written synchronously inside the publish handler, one WriteMessage per
//     subscriber (two mutexes, a frame allocated and the payload copied, one
//     syscall each).
//   - gnetws: bare gnet/v2 plus gobwas/ws for the handshake and frame
//     headers, with no protocol state beyond the subscriber lists: the floor
//     of wsgate's own design. gnet runs with WithMulticore, a loop per P and
//     WithReusePort, so every loop accepts on its own SO_REUSEPORT listener
//     as wsgate's loops do. A publication is queued to every loop once; a
//     loop writes all frames queued for one connection in one writev.
//
// bench/run-suite.sh runs both nbio flavours, the naive one as
// "bin/nbiohub --flavour naive" with results labelled nbiohub-naive; by hand:
//
//	bin/nbiohub --flavour naive --listen 127.0.0.1:28080 --admin-listen 127.0.0.1:28081
//
// Each is a main package: go build ./... builds all three.
package baselines
