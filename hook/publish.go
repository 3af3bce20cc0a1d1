package hook

import (
	"encoding/json"
	"fmt"
)

// PublishRequest is a client's publication, for the publish hook to allow,
// deny or rewrite. Its JSON is the body of the request, with
// "type":"publish".
type PublishRequest struct {
	Conn    string          `json:"conn"`
	User    string          `json:"user,omitempty"`
	Node    string          `json:"node"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"` // a JSON value; nil is sent as null
}

// PublishResult is the publish hook's decision.
type PublishResult struct {
	Allow bool
	// Data replaces the publication's data when not nil: a valid JSON
	// value, at most MaxResponseBytes. nil leaves it unchanged.
	Data   json.RawMessage
	Reason string // deny: at most MaxReasonBytes of printable ASCII
	// Err is set when the call failed (as ConnectResult.Err); the
	// publication is then denied with "publish hook unavailable".
	Err error
}

const publishUnavailable = "publish hook unavailable"

type publishBody struct {
	Type string `json:"type"`
	PublishRequest
}

// Publish asks the backend about a client's publication, with Connect's
// contract: false at once when no slot is free or the Client is closed
// (the caller then refuses the publication itself), else done runs exactly
// once, later, on a goroutine of the Client. Publish encodes req before it
// returns, so req.Data may alias memory the caller reuses.
func (c *Client) Publish(req PublishRequest, done func(PublishResult)) bool {
	if !c.acquire(eventPublish) {
		return false
	}
	c.stats.publishCalls.Add(1)
	body, err := encode(publishBody{Type: eventPublish, PublishRequest: req})
	c.start(eventPublish, body, err, func(answer []byte, err error) {
		done(c.publishResult(answer, err))
	})
	return true
}

func (c *Client) publishResult(answer []byte, err error) PublishResult {
	var r PublishResult
	if err == nil {
		r, err = parsePublishResult(answer)
	}
	if err != nil {
		c.stats.publishFailed.Add(1)
		c.logFailure(eventPublish, err)
		return PublishResult{Reason: publishUnavailable, Err: err}
	}
	if !r.Allow {
		c.stats.publishDenied.Add(1)
	}
	return r
}

type publishAnswer struct {
	Allow  *bool           `json:"allow"`
	Data   json.RawMessage `json:"data"`
	Reason json.RawMessage `json:"reason"`
}

// parsePublishResult reads a publish answer: {"allow":true},
// {"allow":true,"data":<JSON>} or {"allow":false,"reason":"..."}. The body
// must be a JSON object with a boolean "allow" (so a rewrite is valid JSON
// whenever the answer is); "data": null means unchanged. As for a connect
// answer, a deny is never an error: a "reason" that is not a string is "".
func parsePublishResult(body []byte) (PublishResult, error) {
	var a publishAnswer
	if err := decodeAnswer(body, &a); err != nil {
		return PublishResult{}, err
	}
	if a.Allow == nil {
		return PublishResult{}, fmt.Errorf("%w: no boolean \"allow\"", ErrAnswer)
	}
	if !*a.Allow {
		return PublishResult{Reason: denyReason(a.Reason)}, nil
	}
	r := PublishResult{Allow: true}
	if len(a.Data) > 0 && string(a.Data) != "null" {
		r.Data = a.Data
	}
	return r, nil
}
