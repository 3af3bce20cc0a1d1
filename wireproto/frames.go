package wireproto

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/wsgate/wsgate/wire"
)

// The frames the server sends to a Protobuf client. Each Append function
// appends one ServerFrame to dst and returns the extended slice; the
// caller frames it as one binary WebSocket frame. Each is the twin of
// wire's function of the same name and takes the same arguments: ids in
// the gateway's form (digits, nil for none: idOf), data as published
// (JSON, or wire's binary data).

// messageField is ServerFrame.message's field number (wsgate.v1.proto).
const messageField = 4

// AppendMessage appends a publication: ServerFrame{message: Message{channel,
// data, offset, prev}}, offset and prev 0 on a channel without history.
// data is as the gateway holds it (JSON); Message.data carries its bytes,
// or, for binary data (wire.BinaryData), the bytes it decodes to, decoded
// straight into dst. It writes what proto.Marshal writes for the same
// message (frames_test.go), by hand: the gateway calls it once per
// publication that a Protobuf subscriber gets, and it allocates nothing
// when dst has room. channel is a string or the bytes of one (as
// wire.SplitMessage gives it), so neither caller converts.
func AppendMessage[C string | []byte](dst []byte, channel C, offset, prev uint64, data []byte) []byte {
	b64, n, binary := wire.BinaryData(data)
	if !binary {
		n = len(data)
	}
	size := protowire.SizeTag(1) + protowire.SizeBytes(len(channel))
	if n > 0 {
		size += protowire.SizeTag(2) + protowire.SizeBytes(n)
	}
	if offset != 0 {
		size += protowire.SizeTag(3) + protowire.SizeVarint(offset)
	}
	if prev != 0 {
		size += protowire.SizeTag(4) + protowire.SizeVarint(prev)
	}
	dst = protowire.AppendTag(dst, messageField, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(size))
	dst = protowire.AppendTag(dst, 1, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(len(channel)))
	dst = append(dst, channel...)
	if n > 0 {
		dst = protowire.AppendTag(dst, 2, protowire.BytesType)
		dst = protowire.AppendVarint(dst, uint64(n))
		if binary {
			start := len(dst)
			dst = slices.Grow(dst, n)[:start+n]
			// Cannot fail: BinaryData checked the alphabet and the padding.
			_, _ = base64.StdEncoding.Decode(dst[start:], b64)
		} else {
			dst = append(dst, data...)
		}
	}
	if offset != 0 {
		dst = protowire.AppendTag(dst, 3, protowire.VarintType)
		dst = protowire.AppendVarint(dst, offset)
	}
	if prev != 0 {
		dst = protowire.AppendTag(dst, 4, protowire.VarintType)
		dst = protowire.AppendVarint(dst, prev)
	}
	return dst
}

// Bytes returns the bytes a Protobuf subscriber gets for data as the
// gateway holds it: data itself, or what binary data decodes to (a new
// slice).
func Bytes(data []byte) []byte {
	b64, n, binary := wire.BinaryData(data)
	if !binary {
		return data
	}
	out := make([]byte, n)
	_, _ = base64.StdEncoding.Decode(out, b64)
	return out
}

// PingFrame is the heartbeat's ping, ServerFrame{ping: Ping{}}: the body of
// the binary frame a /ws?heartbeat=1 Protobuf connection gets in place of
// a ping control frame (wire.Ping's twin).
var PingFrame = []byte{8<<3 | byte(protowire.BytesType), 0}

func appendFrame(dst []byte, f *ServerFrame) []byte {
	out, err := proto.MarshalOptions{Deterministic: true}.MarshalAppend(dst, f)
	if err != nil {
		// Only invalid UTF-8 in a string field fails, and every string
		// here is checked by the protocol's rules (or escaped, below).
		panic("wireproto: " + err.Error())
	}
	return out
}

// AppendAck appends the success reply to a command that carried an id.
func AppendAck(dst []byte, id json.RawMessage) []byte {
	return appendFrame(dst, &ServerFrame{Frame: &ServerFrame_Ack{Ack: &Ack{Id: idFrom(id)}}})
}

// AppendPosition appends the success reply to a subscribe on a channel
// with history: an Ack with the channel's position; recovered nil leaves
// it unset (a subscribe without since).
func AppendPosition(dst []byte, id json.RawMessage, channel string, offset uint64, epoch string, recovered *bool) []byte {
	ack := &Ack{Id: idFrom(id), Channel: channel, Offset: offset, Epoch: epoch, Recovered: recovered}
	return appendFrame(dst, &ServerFrame{Frame: &ServerFrame_Ack{Ack: ack}})
}

// AppendError appends an error reply; id nil for none.
func AppendError(dst []byte, id json.RawMessage, code, message string) []byte {
	e := &Error{Id: idFrom(id), Code: code, Message: validUTF8(message)}
	return appendFrame(dst, &ServerFrame{Frame: &ServerFrame_Error{Error: e}})
}

// AppendDroppedOn appends the notice of n publications of channel lost to
// a slow read (the JSON protocol's error "dropped"); offset as there.
func AppendDroppedOn(dst []byte, channel string, n, offset uint64) []byte {
	return appendFrame(dst, &ServerFrame{Frame: &ServerFrame_Dropped{Dropped: &Dropped{Channel: channel, Count: n, Offset: offset}}})
}

// AppendUnsubscribed appends the notice of a subscription the server
// ended; reason is one of wire's Unsubscribed constants.
func AppendUnsubscribed(dst []byte, channel, reason string) []byte {
	return appendFrame(dst, &ServerFrame{Frame: &ServerFrame_Unsubscribed{Unsubscribed: &Unsubscribed{Channel: channel, Reason: reason}}})
}

// AppendHistory appends the reply to a history command; each entry's data
// as in AppendMessage.
func AppendHistory(dst []byte, id json.RawMessage, channel string, offset uint64, epoch string, recovered, more bool, entries []wire.HistoryEntry) []byte {
	h := &HistoryReply{Id: idFrom(id), Channel: channel, Offset: offset, Epoch: epoch, Recovered: recovered, More: more,
		Publications: make([]*Publication, len(entries))}
	for i, e := range entries {
		h.Publications[i] = &Publication{Offset: e.Offset, Prev: e.Prev, Data: Bytes(e.Data)}
	}
	return appendFrame(dst, &ServerFrame{Frame: &ServerFrame_History{History: h}})
}

// AppendConnected appends the greeting sent once a connection is up.
func AppendConnected(dst []byte, client, node, version string, pingIntervalMS int64) []byte {
	c := &Connected{Client: validUTF8(client), Node: validUTF8(node), Version: validUTF8(version), PingIntervalMs: pingIntervalMS}
	return appendFrame(dst, &ServerFrame{Frame: &ServerFrame_Connected{Connected: c}})
}

// AppendPush appends a message the backend sent to this connection alone;
// data (a JSON value) as in AppendMessage.
func AppendPush(dst []byte, data []byte) []byte {
	return appendFrame(dst, &ServerFrame{Frame: &ServerFrame_Push{Push: &Push{Data: Bytes(data)}}})
}

// AppendPresence appends a member's join (join true) or leave of channel.
func AppendPresence(dst []byte, join bool, channel, conn, user, node string, joinedMS int64) []byte {
	p := &Presence{Channel: channel, Join: join, Conn: validUTF8(conn), User: validUTF8(user), Node: validUTF8(node), JoinedMs: joinedMS}
	return appendFrame(dst, &ServerFrame{Frame: &ServerFrame_Presence{Presence: p}})
}

// validUTF8 replaces invalid UTF-8 with U+FFFD, as wire's JSON escaping
// does: a Protobuf string must be UTF-8.
func validUTF8(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
