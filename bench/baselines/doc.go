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
// The servers:
//
//   - gorillahub: github.com/gorilla/websocket in the common hub pattern, a
//     read goroutine and a write goroutine per connection, a buffered send
//     channel, and broadcasts framed once with PreparedMessage.
//   - nbiohub: github.com/lesismal/nbio's event-loop HTTP engine and its
//     websocket upgrader; subscribers in a map, broadcasts with WriteMessage.
//   - gnetws: bare gnet/v2 plus gobwas/ws for the handshake and frame
//     headers, with no protocol state beyond the subscriber lists: the floor
//     of wsgate's own design. A publication is queued to every loop once; a
//     loop writes all frames queued for one connection in one writev.
//
// Each is a main package: go build ./... builds all three.
package baselines
