// Package wireproto is wsgate's client protocol in Protobuf: subprotocol
// "wsgate.v1.proto" (Protocol) on /ws, the same commands and replies as the
// JSON protocol of package wire, one message per binary WebSocket frame.
// The messages are defined in wsgate.v1.proto, beside this file, from which
// wsgate.v1.pb.go is generated (`make proto`; gen_test.go fails when the
// committed file is not what protoc generates). Clients in other languages
// generate their code from the same file.
//
// # Shape
//
// A client sends ClientFrame (a oneof of Subscribe, Unsubscribe, Publish,
// History, Refresh, Pong); ParseCommand turns one into the wire.Command the
// gateway executes for a JSON client, applying the same rules and answering
// with the same wire.Error sentinels, plus ErrNotClientFrame, ErrNoCommand
// and ErrTextFrame. The server sends ServerFrame (a oneof of Connected, Ack,
// Error, Message, HistoryReply, Unsubscribed, Dropped, Ping), built by the
// Append functions, each the twin of wire's function of the same name.
//
// # Ids and data
//
//   - An id is a uint64, 0 for none. ParseCommand gives it to the gateway
//     as wire.Command.ID in decimal digits (a JSON number, so the gateway's
//     bookkeeping is the JSON protocol's), and the Append functions take
//     that form back.
//   - A publication's data travels as JSON inside the gateway, the relay
//     and history (wire.PublishData): a Protobuf client's bytes that are
//     UTF-8 JSON as they are, other bytes as {"$binary":"<base64>"}. The
//     Append functions give a Protobuf subscriber the bytes back: the JSON
//     text of a JSON publication, the decoded bytes of binary data
//     (wire.BinaryData).
//
// # Cost
//
// AppendMessage, the frame of every publication a Protobuf subscriber
// gets, is written by hand with protowire: it allocates nothing (dst
// aside), decodes binary data straight into dst, and is checked against
// proto.Marshal of the generated types byte for byte (frames_test.go). The
// gateway builds it once per publication, like the JSON frame. Replies use
// the generated types and proto.Marshal: a few allocations each, off the
// hot path. ParseCommand uses proto.Unmarshal.
//
// Every function here is pure: safe on any goroutine, no state.
package wireproto
