package wire

import (
	"encoding/json"
	"strconv"
)

// The frames the server sends on /ws. Each Append function appends one
// frame's JSON body to dst and returns the extended slice, allocating only
// when dst is too small (AppendError also for its text); the caller frames
// the body as one WebSocket text frame (wsproto.AppendFrame, or wsproto.Prepare to share it).

// AppendMessage appends a publication: {"type":"message","channel":C,"data":D}.
// channel must be valid (ValidChannel: it needs no escaping) and data one
// JSON value, passed through byte for byte and never re-encoded. The
// gateway builds it once per publication, whatever the number of
// subscribers.
func AppendMessage(dst []byte, channel string, data []byte) []byte {
	dst = append(dst, `{"type":"message","channel":"`...)
	dst = append(dst, channel...)
	dst = append(dst, `","data":`...)
	dst = append(dst, data...)
	return append(dst, '}')
}

// AppendAck appends the success reply to a command that carried an id:
// {"type":"ack","id":ID}. id must be valid (ValidID), as a parsed Command's
// is; it is repeated as sent.
func AppendAck(dst []byte, id json.RawMessage) []byte {
	dst = append(dst, `{"type":"ack","id":`...)
	dst = append(dst, id...)
	return append(dst, '}')
}

// AppendError appends an error reply: {"type":"error","id":ID,"code":C,
// "message":M}, without "id" when id is empty (a command without one, or a
// refusal that is not a command's). code is one of the Code constants;
// message is any text, escaped as JSON. For a sentinel e, pass e.Code and
// e.Message.
func AppendError(dst []byte, id json.RawMessage, code, message string) []byte {
	dst = append(dst, `{"type":"error",`...)
	if len(id) > 0 {
		dst = append(dst, `"id":`...)
		dst = append(dst, id...)
		dst = append(dst, ',')
	}
	dst = append(dst, `"code":"`...)
	dst = append(dst, code...)
	dst = append(dst, `","message":`...)
	text, _ := json.Marshal(message) // a string always marshals
	dst = append(dst, text...)
	return append(dst, '}')
}

// AppendDropped appends the notice of messages lost to a slow read (the
// gateway's drop policy), sent before the messages that follow:
// {"type":"error","code":"dropped","message":"N messages dropped: ..."}.
func AppendDropped(dst []byte, n uint64) []byte {
	dst = append(dst, `{"type":"error","code":"`+CodeDropped+`","message":"`...)
	dst = strconv.AppendUint(dst, n, 10)
	return append(dst, ` messages dropped: the connection was not reading fast enough"}`...)
}

// UnsubscribedForbidden is the "reason" of an unsubscribed notice: a
// refreshed token no longer allows the channel.
const UnsubscribedForbidden = "forbidden"

// AppendUnsubscribed appends the notice of a subscription the server ended:
// {"type":"unsubscribed","channel":C,"reason":R}. channel must be valid
// (ValidChannel); reason is one of the Unsubscribed constants. After a
// refresh it comes before the refresh's ack.
func AppendUnsubscribed(dst []byte, channel, reason string) []byte {
	dst = append(dst, `{"type":"unsubscribed","channel":"`...)
	dst = append(dst, channel...)
	dst = append(dst, `","reason":"`...)
	dst = append(dst, reason...)
	return append(dst, `"}`...)
}
