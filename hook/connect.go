package hook

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// ConnectRequest is what the connect hook is told about a handshake. Its
// JSON is the body of the request, with "type":"connect".
type ConnectRequest struct {
	Conn       string `json:"conn"` // the connection ID
	Node       string `json:"node"` // the node's name
	RemoteAddr string `json:"remote_addr"`
	Path       string `json:"path"`
	Query      string `json:"query"` // raw, without the "?"
	// Headers of the handshake under canonical names (Cookie,
	// Authorization, Origin, User-Agent...), bounded by MaxHeaderNames and
	// MaxHeaderBytes before they are sent.
	Headers  map[string][]string `json:"headers"`
	Channels []string            `json:"channels"`       // requested in the URL
	User     string              `json:"user,omitempty"` // the token's sub, when a JWT was verified
}

// ConnectResult is the connect hook's decision.
type ConnectResult struct {
	Allow     bool
	User      string   // the connection's user; "" keeps the token's
	Subscribe []string // extra channel patterns the connection may subscribe to
	Publish   []string // extra channel patterns it may publish to
	Status    int      // deny: the refused handshake's HTTP status, 400-599 (403 unless the backend chose)
	Reason    string   // deny: at most MaxReasonBytes of printable ASCII ("" when the backend gave none)
	// Err is set when the call failed (ErrTimeout, ErrTransport, ErrStatus,
	// ErrTooLarge, ErrAnswer, ErrRequest, ErrClosed, or ErrBusy from Busy).
	// The decision then follows Config.FailOpen: Allow with no extra
	// grants, or deny with 503 "connect hook unavailable".
	Err error
}

// unavailableStatus and unavailableReason refuse a connection whose
// connect call failed, when FailOpen is off.
const (
	unavailableStatus = http.StatusServiceUnavailable
	unavailableReason = "connect hook unavailable"
	defaultDenyStatus = http.StatusForbidden
)

// connectBody is the JSON of a connect request.
type connectBody struct {
	Type string `json:"type"`
	ConnectRequest
}

// Connect asks the backend whether a handshake may proceed. It never
// blocks: it returns false at once, without calling done, when
// MaxConcurrent calls are in flight or the Client is closed (the caller
// then applies Busy's outcome); otherwise done runs exactly once, later,
// on a goroutine of the Client, within about ConnectTimeout. The slot is
// held until done returns, so done should only hand the result over (to
// the connection's event loop, say).
//
// Connect encodes req before it returns: req's maps and slices may be
// reused at once. done must not be nil.
func (c *Client) Connect(req ConnectRequest, done func(ConnectResult)) bool {
	if !c.acquire(eventConnect) {
		return false
	}
	c.stats.connectCalls.Add(1)
	req.Headers = capHeaders(req.Headers)
	if req.Channels == nil {
		req.Channels = []string{}
	}
	body, err := encode(connectBody{Type: eventConnect, ConnectRequest: req})
	c.start(eventConnect, body, err, func(answer []byte, err error) {
		done(c.connectResult(answer, err))
	})
	return true
}

// connectResult turns a call's outcome into the decision, and counts it.
func (c *Client) connectResult(answer []byte, err error) ConnectResult {
	var r ConnectResult
	if err == nil {
		r, err = parseConnectResult(answer)
	}
	if err != nil {
		c.stats.connectFailed.Add(1)
		c.logFailure(eventConnect, err)
		return failedConnect(c.cfg.FailOpen, err)
	}
	if !r.Allow {
		c.stats.connectDenied.Add(1)
	}
	return r
}

// Busy is the decision for a handshake whose Connect returned false: Err
// is ErrBusy and the rest follows cfg.FailOpen, as for a failed call.
func Busy(cfg Config) ConnectResult { return failedConnect(cfg.FailOpen, ErrBusy) }

// Busy is Busy(cfg) for the Client's own Config.
func (c *Client) Busy() ConnectResult { return Busy(c.cfg) }

func failedConnect(failOpen bool, err error) ConnectResult {
	if failOpen {
		return ConnectResult{Allow: true, Err: err}
	}
	return ConnectResult{Status: unavailableStatus, Reason: unavailableReason, Err: err}
}

// connectAnswer is the JSON of a connect answer. Only "allow" is decoded
// at first: the other fields are read according to it.
type connectAnswer struct {
	Allow     *bool           `json:"allow"`
	User      json.RawMessage `json:"user"`
	Subscribe json.RawMessage `json:"subscribe"`
	Publish   json.RawMessage `json:"publish"`
	Status    json.RawMessage `json:"status"`
	Reason    json.RawMessage `json:"reason"`
}

// parseConnectResult reads a connect answer: a JSON object whose "allow"
// is a boolean (unknown fields ignored).
//
// An allow is checked strictly, and any fault makes the answer ErrAnswer:
// "user" a string of at most MaxUserBytes, "subscribe" and "publish"
// arrays of at most MaxPatterns strings of 1 to MaxPatternBytes, none
// with control characters (null or absent means none).
//
// A deny is never an error, so FailOpen cannot let in a connection the
// backend refused: a "status" that is not an integer in 400-599 becomes
// 403, and a "reason" that is not a string becomes "" (a string is
// sanitized to MaxReasonBytes of printable ASCII).
func parseConnectResult(body []byte) (ConnectResult, error) {
	var a connectAnswer
	if err := decodeAnswer(body, &a); err != nil {
		return ConnectResult{}, err
	}
	if a.Allow == nil {
		return ConnectResult{}, fmt.Errorf("%w: no boolean \"allow\"", ErrAnswer)
	}
	if !*a.Allow {
		return ConnectResult{Status: denyStatus(a.Status), Reason: denyReason(a.Reason)}, nil
	}
	r := ConnectResult{Allow: true}
	var err error
	if r.User, err = parseUser(a.User); err != nil {
		return ConnectResult{}, err
	}
	if r.Subscribe, err = parsePatterns("subscribe", a.Subscribe); err != nil {
		return ConnectResult{}, err
	}
	if r.Publish, err = parsePatterns("publish", a.Publish); err != nil {
		return ConnectResult{}, err
	}
	return r, nil
}

func parseUser(raw json.RawMessage) (string, error) {
	var user *string
	if len(raw) > 0 {
		if err := decodeAnswer(raw, &user); err != nil {
			return "", fmt.Errorf("%w: \"user\"", err)
		}
	}
	if user == nil {
		return "", nil
	}
	if *user != "" && !validName(*user, MaxUserBytes) {
		return "", fmt.Errorf("%w: \"user\" longer than %d bytes or with control characters", ErrAnswer, MaxUserBytes)
	}
	return *user, nil
}

func parsePatterns(field string, raw json.RawMessage) ([]string, error) {
	var patterns []string
	if len(raw) > 0 {
		if err := decodeAnswer(raw, &patterns); err != nil {
			return nil, fmt.Errorf("%w: %q", err, field)
		}
	}
	if len(patterns) > MaxPatterns {
		return nil, fmt.Errorf("%w: %d %q patterns, at most %d", ErrAnswer, len(patterns), field, MaxPatterns)
	}
	for _, p := range patterns {
		if !validName(p, MaxPatternBytes) {
			return nil, fmt.Errorf("%w: a %q pattern is empty, longer than %d bytes or has control characters", ErrAnswer, field, MaxPatternBytes)
		}
	}
	return patterns, nil
}

// denyStatus is a deny's "status" if it is an integer in 400-599, else 403.
func denyStatus(raw json.RawMessage) int {
	var status int
	if len(raw) == 0 || json.Unmarshal(raw, &status) != nil || status < 400 || status > 599 {
		return defaultDenyStatus
	}
	return status
}

// denyReason is a deny's "reason" sanitized, or "" if it is not a string.
func denyReason(raw json.RawMessage) string {
	var reason string
	if len(raw) == 0 || json.Unmarshal(raw, &reason) != nil {
		return ""
	}
	return sanitizeReason(reason)
}
