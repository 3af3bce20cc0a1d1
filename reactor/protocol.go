package reactor

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/relay"
	"github.com/wsgate/wsgate/wsproto"
)

// Error codes of the client protocol (docs/protocol.md). They are stable:
// clients switch on them.
const (
	codeBadJSON        = "bad_json"     // the frame is not a JSON object
	codeBadRequest     = "bad_request"  // a field is missing or of the wrong type
	codeUnknownType    = "unknown_type" // "type" is not one the server knows
	codeBadChannel     = "bad_channel"  // the channel name is not valid
	codeTooLarge       = "too_large"    // "data" is larger than the limit
	codeTooManySubs    = "too_many_subscriptions"
	codeNotSubscribed  = "not_subscribed" // unsubscribe from a channel not subscribed
	codeUnsupported    = "unsupported"    // binary frames carry no protocol
	codePublishFailed  = "publish_failed" // the relay refused the publication
	codeDropped        = "dropped"        // messages were dropped (SlowDrop)
	maxConsecutiveErrs = 16               // error frames in a row before close 1008
)

// clientFrame is a client command: subscribe, unsubscribe or publish.
type clientFrame struct {
	Type    string          `json:"type"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
	ID      json.RawMessage `json:"id"`
}

// onPubSubMessage runs one client command. Runs on c's loop; replies are
// queued in the loop's scratch buffer, written by the caller.
func (c *conn) onPubSubMessage(m wsproto.Message) {
	l := c.loop
	if m.Op != ws.OpText {
		c.replyError(nil, codeUnsupported, "binary frames are not part of the protocol: send JSON text")
		return
	}
	var f clientFrame
	if err := json.Unmarshal(m.Payload, &f); err != nil || len(m.Payload) == 0 || m.Payload[0] != '{' {
		c.replyError(nil, codeBadJSON, "frame is not a JSON object")
		return
	}
	if len(f.ID) > 0 && !validID(f.ID) {
		c.replyError(nil, codeBadRequest, `"id" must be a number or a string`)
		return
	}
	switch f.Type {
	case "subscribe", "unsubscribe", "publish":
	default:
		c.replyError(f.ID, codeUnknownType, `"type" must be subscribe, unsubscribe or publish`)
		return
	}
	if !relay.ValidChannel(f.Channel) {
		c.replyError(f.ID, codeBadChannel, "channel names are 1-255 bytes of letters, digits and _-:@ in dot-separated levels")
		return
	}
	switch f.Type {
	case "subscribe":
		if c.subs.len() >= l.eng.cfg.MaxSubscriptions {
			c.replyError(f.ID, codeTooManySubs, "subscription limit reached")
			return
		}
		l.subscribe(c, f.Channel)
	case "unsubscribe":
		if !l.unsubscribe(c, f.Channel) {
			c.replyError(f.ID, codeNotSubscribed, "not subscribed to this channel")
			return
		}
	case "publish":
		if len(f.Data) == 0 {
			c.replyError(f.ID, codeBadRequest, `publish needs "data"`)
			return
		}
		if len(f.Data) > l.eng.cfg.MaxDataSize {
			c.replyError(f.ID, codeTooLarge, "data exceeds the publish size limit")
			return
		}
		if err := l.eng.publish(f.Channel, f.Data, sourceClient); err != nil {
			c.replyError(f.ID, codePublishFailed, err.Error())
			return
		}
	}
	c.errors = 0
	if len(f.ID) > 0 {
		l.out = wsproto.AppendFrame(l.out, ws.OpText, true, appendAck(nil, f.ID))
	}
}

// replyError queues an error frame; too many in a row close the connection
// with 1008, so a broken or hostile client cannot keep the loop busy.
func (c *conn) replyError(id json.RawMessage, code, message string) {
	c.errors++
	c.loop.stats.errorFrames.Add(1)
	c.loop.out = appendError(c.loop.out, id, code, message)
	if c.errors >= maxConsecutiveErrs {
		c.closeWith(ws.StatusPolicyViolation, "too many errors")
	}
}

// appendError appends a whole error frame to dst.
func appendError(dst []byte, id json.RawMessage, code, message string) []byte {
	body := append(make([]byte, 0, 64+len(message)), `{"type":"error",`...)
	if len(id) > 0 {
		body = append(body, `"id":`...)
		body = append(body, id...)
		body = append(body, ',')
	}
	body = append(body, `"code":"`...)
	body = append(body, code...)
	body = append(body, `","message":`...)
	msg, _ := json.Marshal(message)
	body = append(body, msg...)
	body = append(body, '}')
	return wsproto.AppendFrame(dst, ws.OpText, true, body)
}

func appendAck(dst []byte, id json.RawMessage) []byte {
	dst = append(dst, `{"type":"ack","id":`...)
	dst = append(dst, id...)
	return append(dst, '}')
}

// validID accepts a JSON number or string, echoed back verbatim.
func validID(id json.RawMessage) bool {
	id = bytes.TrimSpace(id)
	if len(id) == 0 {
		return false
	}
	if id[0] == '"' {
		return true // json.Unmarshal has already checked it is a valid string
	}
	var n json.Number
	return json.Unmarshal(id, &n) == nil
}

// handshakeChannels reads ?channels=a,b from the upgrade request.
func handshakeChannels(query []byte, max int) ([]string, error) {
	if len(query) == 0 {
		return nil, nil
	}
	values, err := url.ParseQuery(string(query))
	if err != nil {
		return nil, errBadQuery
	}
	var channels []string
	for _, v := range values["channels"] {
		for _, ch := range strings.Split(v, ",") {
			if ch == "" {
				continue
			}
			if !relay.ValidChannel(ch) {
				return nil, errBadQueryChannel
			}
			channels = append(channels, ch)
		}
	}
	if len(channels) > max {
		return nil, errTooManyQueryChannels
	}
	return channels, nil
}
