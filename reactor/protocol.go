package reactor

import (
	"bytes"
	"encoding/json"

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
	codeNotSubscribed  = "not_subscribed"    // unsubscribe from a channel not subscribed
	codeUnsupported    = "unsupported"       // binary frames carry no protocol
	codePublishFailed  = "publish_failed"    // the relay refused the publication
	codeDropped        = "dropped"           // messages were dropped (SlowDrop)
	codeForbidden      = "forbidden"         // the token does not allow the channel
	codeRateLimited    = "rate_limited"      // over the connection's rate limit
	codeUnauthorized   = "unauthorized"      // a refresh token was refused
	codeTooManyChans   = "too_many_channels" // the node's channel limit is reached
	maxConsecutiveErrs = 16                  // error frames in a row before close 1008
)

// commandType is what a client frame asks for.
type commandType uint8

const (
	cmdSubscribe commandType = iota + 1
	cmdUnsubscribe
	cmdPublish
	cmdRefresh
)

// clientFrame is the JSON shape of a client command.
type clientFrame struct {
	Type    string          `json:"type"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
	ID      json.RawMessage `json:"id"`
	Token   string          `json:"token"`
}

// command is a parsed, validated client frame. It owns its memory (nothing
// aliases the frame's payload).
type command struct {
	kind    commandType
	channel string          // subscribe, unsubscribe, publish: a valid channel name
	data    json.RawMessage // publish: non-empty, at most maxData bytes
	id      json.RawMessage // nil or a valid id, echoed in the reply
	token   string          // refresh: non-empty
}

// commandError is a frame refused before it reaches any state: the reply's
// code and text, and the id when the frame got that far.
type commandError struct {
	id            json.RawMessage
	code, message string
}

// parseCommand decodes and validates one client text frame. It is pure
// (no connection, no engine), which is what FuzzClientFrame relies on.
func parseCommand(payload []byte, maxData int) (command, *commandError) {
	var f clientFrame
	if len(payload) == 0 || payload[0] != '{' || json.Unmarshal(payload, &f) != nil {
		return command{}, &commandError{code: codeBadJSON, message: "frame is not a JSON object"}
	}
	if len(f.ID) > 0 && !validID(f.ID) {
		return command{}, &commandError{code: codeBadRequest, message: `"id" must be a number or a string of at most 64 bytes`}
	}
	cmd := command{channel: f.Channel, data: f.Data, id: f.ID, token: f.Token}
	if len(f.ID) == 0 {
		cmd.id = nil
	}
	fail := func(code, message string) (command, *commandError) {
		return command{}, &commandError{id: cmd.id, code: code, message: message}
	}
	switch f.Type {
	case "subscribe":
		cmd.kind = cmdSubscribe
	case "unsubscribe":
		cmd.kind = cmdUnsubscribe
	case "publish":
		cmd.kind = cmdPublish
	case "refresh":
		if f.Token == "" {
			return fail(codeBadRequest, `refresh needs "token"`)
		}
		cmd.kind, cmd.channel, cmd.data = cmdRefresh, "", nil
		return cmd, nil
	default:
		return fail(codeUnknownType, `"type" must be subscribe, unsubscribe, publish or refresh`)
	}
	if !relay.ValidChannel(f.Channel) {
		return fail(codeBadChannel, "channel names are 1-255 bytes of letters, digits and _-:@ in dot-separated levels")
	}
	if cmd.kind == cmdPublish {
		if len(f.Data) == 0 {
			return fail(codeBadRequest, `publish needs "data"`)
		}
		if len(f.Data) > maxData {
			return fail(codeTooLarge, "data exceeds the publish size limit")
		}
	} else {
		cmd.data = nil
	}
	cmd.token = ""
	return cmd, nil
}

// onPubSubMessage runs one client command. Runs on c's loop; replies are
// queued in the loop's scratch buffer, written by the caller.
func (c *conn) onPubSubMessage(m wsproto.Message) {
	l := c.loop
	if m.Op != ws.OpText {
		c.replyError(nil, codeUnsupported, "binary frames are not part of the protocol: send JSON text")
		return
	}
	cmd, perr := parseCommand(m.Payload, l.eng.cfg.MaxDataSize)
	if perr != nil {
		c.replyError(perr.id, perr.code, perr.message)
		return
	}
	switch cmd.kind {
	case cmdSubscribe:
		if !c.maySubscribe(cmd.channel) {
			c.forbid(cmd.id, "the token does not allow subscribing to this channel")
			return
		}
		if c.subs.len() >= l.eng.cfg.MaxSubscriptions {
			c.replyError(cmd.id, codeTooManySubs, "subscription limit reached")
			return
		}
		if _, err := l.subscribe(c, cmd.channel); err != nil {
			c.replyError(cmd.id, codeTooManyChans, "the node's channel limit is reached")
			return
		}
	case cmdUnsubscribe:
		if !l.unsubscribe(c, cmd.channel) {
			c.replyError(cmd.id, codeNotSubscribed, "not subscribed to this channel")
			return
		}
	case cmdPublish:
		if !c.mayPublish(cmd.channel) {
			c.forbid(cmd.id, "the token does not allow publishing to this channel")
			return
		}
		if err := l.eng.publish(cmd.channel, cmd.data, sourceClient); err != nil {
			c.replyError(cmd.id, codePublishFailed, err.Error())
			return
		}
	case cmdRefresh:
		if !c.refresh(cmd) {
			return
		}
	}
	c.errors = 0
	if len(cmd.id) > 0 {
		l.out = wsproto.AppendFrame(l.out, ws.OpText, true, appendAck(nil, cmd.id))
	}
}

// forbid answers a command the token's patterns do not allow.
func (c *conn) forbid(id json.RawMessage, message string) {
	c.loop.stats.forbidden.Add(1)
	c.replyError(id, codeForbidden, message)
}

// replyError queues an error frame; too many in a row close the connection
// with 1008, so a broken or hostile client cannot keep the loop busy.
func (c *conn) replyError(id json.RawMessage, code, message string) {
	c.errors++
	c.loop.stats.errorFrames.Add(1)
	c.loop.out = appendError(c.loop.out, id, code, message)
	if c.errors >= maxConsecutiveErrs {
		reason := "too many errors"
		if code == codeRateLimited {
			reason = "rate limit exceeded"
		}
		c.closeWith(ws.StatusPolicyViolation, reason)
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

// maxIDBytes bounds a command's "id" as sent (a number, or a string
// between its quotes): the reply repeats it, so it must not let a small
// frame ask for a large answer.
const maxIDBytes = 64

// validID accepts a JSON number or string of at most maxIDBytes, echoed
// back verbatim.
func validID(id json.RawMessage) bool {
	id = bytes.TrimSpace(id)
	if len(id) == 0 || len(id) > maxIDBytes+2 || id[0] != '"' && len(id) > maxIDBytes {
		return false
	}
	if id[0] == '"' {
		return true // json.Unmarshal has already checked it is a valid string
	}
	var n json.Number
	return json.Unmarshal(id, &n) == nil
}
