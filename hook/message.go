package hook

import (
	"bytes"
	"encoding/json"
)

// MessageRequest is a client's {"type":"send","data":...} frame, for the
// backend (API Gateway's $default route). Its JSON is the body of the
// request, with "type":"message".
type MessageRequest struct {
	Conn string          `json:"conn"`
	User string          `json:"user,omitempty"`
	Node string          `json:"node"`
	Data json.RawMessage `json:"data"` // a JSON value; nil is sent as null
}

// MessageResult is the backend's answer to a message.
type MessageResult struct {
	// Reply is a JSON value to push back to the connection, nil if none.
	Reply json.RawMessage
	// Err is set when the call failed (as ConnectResult.Err).
	Err error
}

type messageBody struct {
	Type string `json:"type"`
	MessageRequest
}

// Message hands a client's message to the backend, with Connect's
// contract: false at once when no slot is free or the Client is closed,
// else done runs exactly once, later, on a goroutine of the Client.
// Message encodes req before it returns, so req.Data may alias memory the
// caller reuses.
func (c *Client) Message(req MessageRequest, done func(MessageResult)) bool {
	if !c.acquire(eventMessage) {
		return false
	}
	c.stats.messageCalls.Add(1)
	body, err := encode(messageBody{Type: eventMessage, MessageRequest: req})
	c.start(eventMessage, body, err, func(answer []byte, err error) {
		var r MessageResult
		if err == nil {
			r, err = parseMessageResult(answer)
		}
		if err != nil {
			c.stats.messageFailed.Add(1)
			c.logFailure(eventMessage, err)
			r = MessageResult{Err: err}
		}
		done(r)
	})
	return true
}

type messageAnswer struct {
	Reply json.RawMessage `json:"reply"`
}

// parseMessageResult reads a message answer: an empty body (a 200 without
// one, or a 204), or a JSON object whose optional "reply" is any JSON
// value ("reply": null means none).
func parseMessageResult(body []byte) (MessageResult, error) {
	if len(bytes.Trim(body, " \t\r\n")) == 0 {
		return MessageResult{}, nil
	}
	var a messageAnswer
	if err := decodeAnswer(body, &a); err != nil {
		return MessageResult{}, err
	}
	if len(a.Reply) == 0 || string(a.Reply) == "null" {
		return MessageResult{}, nil
	}
	return MessageResult{Reply: a.Reply}, nil
}
