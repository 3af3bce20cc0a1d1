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
//	{"type":"unsubscribe","channel":"news","id":2}
//	{"type":"publish","channel":"news","data":<any JSON>,"id":3}
//	{"type":"refresh","token":"<JWT>","id":4}
//
// The server answers a command that carried an id with exactly one reply,
// and sends publications and notices as they happen:
//
//	{"type":"ack","id":1}                                           AppendAck
//	{"type":"error","id":1,"code":"<code>","message":"<text>"}      AppendError, AppendDropped
//	{"type":"message","channel":"news","data":<as published>}       AppendMessage
//	{"type":"unsubscribed","channel":"news","reason":"forbidden"}   AppendUnsubscribed
//
// The codes (CodeBadJSON ... CodeDropped, errors.go) are a stable API;
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
//     byte, never re-encoded.
//
// # Who calls what
//
// The gateway (reactor) calls ParseCommand on each text frame of a /ws
// connection, on the connection's event loop, and executes the Command it
// returns; a Command owns its memory, so the frame's buffer may be reused
// at once. It builds replies with the Append functions into the loop's
// scratch memory and frames them itself (wsproto). A publication's body is
// built once with AppendMessage, framed once and shared by every
// subscriber. The admin API answers with the same codes and channel rule,
// and auth builds channel patterns from ValidChannelLevel. Every function
// here is pure: safe on any goroutine, no state. The Append functions
// allocate only when dst lacks room, except AppendError, which encodes its
// text through encoding/json (error replies are off the hot path).
package wire
