// Package wire is wsgate's client protocol: the JSON a client and the
// server exchange on /ws, as bytes in and bytes out. It owns every byte of
// that protocol that is not WebSocket framing: the commands a client
// sends, the frames the server answers with, the error codes and their
// texts, the close codes and reasons the gateway uses, and the channel-name
// rule. It imports only the standard library: no sockets, no loops, no bus.
//
// # Shape
//
// Every frame is one JSON object in one WebSocket text frame. A client
// sends commands (ParseCommand):
//
//	{"type":"subscribe","channel":"news","id":1}
//	{"type":"subscribe","channel":"news","since":{"offset":41,"epoch":"e1"},"id":1}
//	{"type":"unsubscribe","channel":"news","id":2}
//	{"type":"publish","channel":"news","data":<any JSON>,"id":3}
//	{"type":"publish","channel":"news","data":<any JSON>,"idempotency_key":"k-1","id":3}
//	{"type":"refresh","token":"<JWT>","id":4}
//	{"type":"history","channel":"news","since":{"offset":41,"epoch":"e1"},"limit":100,"id":5}
//
// The server greets a connection, answers a command that carried an id
// with exactly one reply, and sends publications and notices as they
// happen:
//
//	{"type":"connected","client":"c1","node":"n1","version":"v","ping_interval_ms":25000}    AppendConnected
//	{"type":"ack","id":1}                                                                    AppendAck
//	{"type":"ack","id":1,"channel":"news","offset":42,"epoch":"e1","recovered":true}         AppendPosition
//	{"type":"history","id":5,"channel":"news","offset":42,"epoch":"e1","recovered":true,
//	 "more":false,"publications":[{"offset":42,"prev":41,"data":<as published>}]}            AppendHistory
//	{"type":"error","id":1,"code":"<code>","message":"<text>"}                               AppendError
//	{"type":"error","code":"dropped","channel":"news","offset":41,"message":"<text>"}        AppendDroppedOn
//	{"type":"message","channel":"news","data":<as published>}                                AppendMessage
//	{"type":"message","channel":"news","offset":42,"prev":41,"data":<as published>}          AppendMessageAt
//	{"type":"unsubscribed","channel":"news","reason":"forbidden"}                            AppendUnsubscribed
//
// A channel that keeps history numbers its publications with offsets in
// an epoch; the epoch changes when the offsets restart, so a position is
// both (Since). A message's "prev" is the offset of the one before it: a
// client that last saw offset L has missed publications exactly when
// prev > L, and resumes with since (subscribe) or reads them (history).
//
// The codes (CodeBadJSON ... CodeHistoryUnavailable, errors.go) are a stable API;
// the sentinel Errors pair each fixed-text condition with its code. Close
// codes and reasons are in close.go, each reason with the one code it is
// sent with.
//
// # Bounds
//
//   - A channel name is 1 to MaxChannelLength (255) bytes of ASCII letters,
//     digits and "_ - : @" in dot-separated levels (ValidChannel). No valid
//     name needs JSON escaping, which is why frames copy names as they are.
//   - An "id" is a JSON number or string of at most MaxIDBytes (64) bytes as
//     sent: the reply repeats it verbatim, so a small command cannot ask for
//     a large answer.
//   - A publication's "data" is one JSON value of at most maxData bytes,
//     the bound the caller passes to ParseCommand (the gateway's
//     Config.MaxDataSize, 64 KiB by default). It is passed through byte for
//     byte, never re-encoded. Bytes that are not JSON (a Protobuf client's,
//     package wireproto) travel as the JSON object {"$binary":"<base64>"}
//     (binary.go: PublishData, BinaryData), so data is JSON everywhere.
//   - A "since" is {"offset":N,"epoch":"E"}: N an integer from 0 to 2^64-1
//     written in digits, E 1 to MaxEpochBytes (64) bytes of ASCII letters,
//     digits and "._:-" (ValidEpoch). No valid epoch needs JSON
//     escaping, so frames copy epochs as they are, like channel names.
//   - A history's "limit" is an integer of at least 1, DefaultHistoryLimit
//     (100) when absent, lowered to MaxHistoryLimit (1000).
//   - An "idempotency_key" is 1 to MaxKeyBytes (64) bytes of printable
//     ASCII without space (0x21-0x7e).
//
// # Who calls what
//
// The gateway (reactor) calls ParseCommand on each text frame of a /ws
// connection, on the connection's event loop, and executes the Command it
// returns; a Command owns its memory, so the frame's buffer may be reused
// at once. It builds replies with the Append functions into the loop's
// scratch memory and frames them itself (wsproto). A publication's body is
// built once with AppendMessage (AppendMessageAt), framed once and shared by
// every subscriber. The admin API answers with the same codes and channel rule,
// and auth builds channel patterns from ValidChannelLevel. Every function
// here is pure: safe on any goroutine, no state. The Append functions
// allocate only when dst lacks room, except AppendError, which encodes its
// text through encoding/json (error replies are off the hot path);
// AppendConnected escapes its strings itself, without allocating.
package wire
