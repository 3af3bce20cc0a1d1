package hook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// acquire takes a call slot and registers the goroutine that will hold it.
// It reports false, at once, when the Client is closed or every slot is
// taken (counted in Stats.Busy). Publish and message calls, which clients
// can make many of, leave a quarter of the slots to connect calls: a
// flood of them never stops handshakes.
func (c *Client) acquire(event string) bool {
	c.callMu.RLock()
	defer c.callMu.RUnlock()
	if c.callsClosed {
		return false
	}
	if event != eventConnect && len(c.slots) >= c.cfg.MaxConcurrent-c.cfg.MaxConcurrent/4 {
		c.stats.busy.Add(1)
		return false
	}
	select {
	case c.slots <- struct{}{}:
		c.calls.Add(1)
		return true
	default:
		c.stats.busy.Add(1)
		return false
	}
}

// start makes one call on a goroutine of its own, which holds the slot
// acquire took: it posts body (unless encoding it failed, err) within
// ConnectTimeout and hands the answer or the error to finish, then frees
// the slot. So a slot stays taken while finish (the caller's done) runs.
func (c *Client) start(event string, body []byte, err error, finish func(answer []byte, err error)) {
	go func() {
		defer c.calls.Done()
		defer func() { <-c.slots }()
		var answer []byte
		if err == nil {
			ctx, cancel := context.WithTimeout(c.ctx, c.cfg.ConnectTimeout)
			answer, err = c.post(ctx, event, body, true)
			cancel()
			if errors.Is(err, ErrClosed) {
				c.aborted.Add(1)
			}
		}
		finish(answer, err)
	}()
}

// encode is a request's body; its error wraps ErrRequest.
func encode(v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRequest, err)
	}
	return body, nil
}

// decodeAnswer unmarshals a 2xx answer's body into v; its error wraps
// ErrAnswer.
func decodeAnswer(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %v", ErrAnswer, err)
	}
	return nil
}
