package wire

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
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

// AppendDroppedOn appends the notice of n publications of channel lost to
// a slow read, sent before the messages that follow:
// {"type":"error","code":"dropped","channel":C,"offset":O,"message":"N messages dropped: ..."}.
// offset, for a channel with history, is the last one before the gap (a
// client resumes from there); 0 leaves it out. channel must be valid
// (ValidChannel).
func AppendDroppedOn(dst []byte, channel string, n, offset uint64) []byte {
	dst = append(dst, `{"type":"error","code":"`+CodeDropped+`","channel":"`...)
	dst = append(dst, channel...)
	dst = append(dst, '"')
	if offset != 0 {
		dst = append(dst, `,"offset":`...)
		dst = strconv.AppendUint(dst, offset, 10)
	}
	dst = append(dst, `,"message":"`...)
	dst = strconv.AppendUint(dst, n, 10)
	return append(dst, ` messages dropped: the connection was not reading fast enough"}`...)
}

// Ping is the heartbeat a connection that asked for it (/ws?heartbeat=1)
// gets instead of a ping control frame, which browsers cannot see; the
// client answers {"type":"pong"}.
var Ping = []byte(`{"type":"ping"}`)

// UnsubscribedForbidden is the "reason" of an unsubscribed notice: a
// refreshed token no longer allows the channel.
const UnsubscribedForbidden = "forbidden"

// UnsubscribedHistoryUnavailable is the "reason" of an unsubscribed
// notice: the channel's history could not be read while the subscription
// was replaying it. Subscribe again (with since) to resume.
const UnsubscribedHistoryUnavailable = "history_unavailable"

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

// AppendMessageAt appends a publication of a channel that keeps history:
// {"type":"message","channel":C,"offset":O,"prev":P,"data":D}. offset is
// the publication's place in the channel's history and prev the offset of
// the channel's publication before it (0 when none is known). Offsets grow
// but need not be consecutive, so prev is what tells a gap: a client that
// last saw offset L has missed something exactly when prev > L. channel
// and data are as for AppendMessage.
func AppendMessageAt(dst []byte, channel string, offset, prev uint64, data []byte) []byte {
	dst = append(dst, `{"type":"message","channel":"`...)
	dst = append(dst, channel...)
	dst = append(dst, `","offset":`...)
	dst = strconv.AppendUint(dst, offset, 10)
	dst = append(dst, `,"prev":`...)
	dst = strconv.AppendUint(dst, prev, 10)
	dst = append(dst, `,"data":`...)
	dst = append(dst, data...)
	return append(dst, '}')
}

// AppendPosition appends the success reply to a subscribe on a channel that
// keeps history: {"type":"ack","id":ID,"channel":C,"offset":O,"epoch":"E",
// "recovered":R}, the position the subscription starts after (the client
// keeps it as its next since). "id" is left out when id is empty (a
// subscribe without one, or of ?channels=), and "recovered" when
// recovered is nil (a subscribe without since); with since, it says
// whether every publication after it was delivered. id must be valid (ValidID), channel
// valid (ValidChannel) and epoch valid (ValidEpoch): none needs escaping.
func AppendPosition(dst []byte, id json.RawMessage, channel string, offset uint64, epoch string, recovered *bool) []byte {
	dst = append(dst, `{"type":"ack",`...)
	dst = appendPosition(dst, id, channel, offset, epoch)
	if recovered != nil {
		dst = append(dst, `,"recovered":`...)
		dst = strconv.AppendBool(dst, *recovered)
	}
	return append(dst, '}')
}

// HistoryEntry is one publication of a history reply (AppendHistory).
type HistoryEntry struct {
	Offset, Prev uint64 // as in AppendMessageAt
	Data         []byte // one JSON value, as published
}

// AppendHistory appends the reply to a history command:
// {"type":"history","id":ID,"channel":C,"offset":O,"epoch":"E",
// "recovered":R,"more":M,"publications":[{"offset":O,"prev":P,"data":D},...]}.
// offset and epoch are the channel's position as the store answered;
// recovered says whether the entries follow the command's since with
// nothing lost, and more whether publications after the last entry were
// left out (the limit): the client asks again from there. "id" is left out
// when id is empty. id, channel and epoch are as for AppendPosition; each
// entry's data is passed through byte for byte, as AppendMessage's.
func AppendHistory(dst []byte, id json.RawMessage, channel string, offset uint64, epoch string, recovered, more bool, entries []HistoryEntry) []byte {
	dst = append(dst, `{"type":"history",`...)
	dst = appendPosition(dst, id, channel, offset, epoch)
	dst = append(dst, `,"recovered":`...)
	dst = strconv.AppendBool(dst, recovered)
	dst = append(dst, `,"more":`...)
	dst = strconv.AppendBool(dst, more)
	dst = append(dst, `,"publications":[`...)
	for i, e := range entries {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"offset":`...)
		dst = strconv.AppendUint(dst, e.Offset, 10)
		dst = append(dst, `,"prev":`...)
		dst = strconv.AppendUint(dst, e.Prev, 10)
		dst = append(dst, `,"data":`...)
		dst = append(dst, e.Data...)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

// appendPosition appends the fields AppendPosition and AppendHistory share:
// "id":ID,"channel":C,"offset":O,"epoch":"E", without "id" when id is empty.
func appendPosition(dst []byte, id json.RawMessage, channel string, offset uint64, epoch string) []byte {
	if len(id) > 0 {
		dst = append(dst, `"id":`...)
		dst = append(dst, id...)
		dst = append(dst, ',')
	}
	dst = append(dst, `"channel":"`...)
	dst = append(dst, channel...)
	dst = append(dst, `","offset":`...)
	dst = strconv.AppendUint(dst, offset, 10)
	dst = append(dst, `,"epoch":"`...)
	dst = append(dst, epoch...)
	return append(dst, '"')
}

// AppendConnected appends the greeting sent once a connection is up:
// {"type":"connected","client":"ID","node":"N","version":"V",
// "ping_interval_ms":P}. client, node and version come from tokens and
// configuration, not from the protocol's rules, so they are escaped as
// encoding/json escapes a string, without allocating.
func AppendConnected(dst []byte, client, node, version string, pingIntervalMS int64) []byte {
	dst = append(dst, `{"type":"connected","client":`...)
	dst = appendString(dst, client)
	dst = append(dst, `,"node":`...)
	dst = appendString(dst, node)
	dst = append(dst, `,"version":`...)
	dst = appendString(dst, version)
	dst = append(dst, `,"ping_interval_ms":`...)
	dst = strconv.AppendInt(dst, pingIntervalMS, 10)
	return append(dst, '}')
}

// appendString appends s as a JSON string, byte for byte as json.Marshal
// writes it: HTML's <, > and & escaped, invalid UTF-8 as \ufffd, and U+2028
// and U+2029 escaped (JSONP).
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// UnsubscribedServer is the "reason" of an unsubscribed notice: the
// backend ended the subscription (DELETE-style control API).
const UnsubscribedServer = "server"

// AppendPush appends a message the backend sent to this connection alone
// (the control API's send, or the message hook's reply):
// {"type":"push","data":D}. data must be a JSON value.
func AppendPush(dst []byte, data []byte) []byte {
	dst = append(dst, `{"type":"push","data":`...)
	dst = append(dst, data...)
	return append(dst, '}')
}

// AppendPresence appends a presence change of a channel to a subscriber
// that asked for them: {"type":"join"|"leave","channel":C,"conn":ID,
// "user":U,"node":N,"joined":MS}. joined is the member's join time in
// unix milliseconds. channel must be valid (ValidChannel); the others are
// escaped like AppendConnected's.
func AppendPresence(dst []byte, join bool, channel, conn, user, node string, joinedMS int64) []byte {
	if join {
		dst = append(dst, `{"type":"join","channel":"`...)
	} else {
		dst = append(dst, `{"type":"leave","channel":"`...)
	}
	dst = append(dst, channel...)
	dst = append(dst, `","conn":`...)
	dst = appendString(dst, conn)
	dst = append(dst, `,"user":`...)
	dst = appendString(dst, user)
	dst = append(dst, `,"node":`...)
	dst = appendString(dst, node)
	dst = append(dst, `,"joined":`...)
	dst = strconv.AppendInt(dst, joinedMS, 10)
	return append(dst, '}')
}
