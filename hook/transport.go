package hook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The kinds of request, in HeaderEvent and in the body's "type".
const (
	eventConnect = "connect"
	eventPublish = "publish"
	eventMessage = "message"
	eventEvents  = "events"
)

const userAgent = "wsgate-hook/1"

// post sends one signed request and returns the answer's body when the
// status is 2xx. It reads at most MaxResponseBytes+1 bytes: when keep is
// set a longer body is ErrTooLarge, otherwise the body is discarded
// whatever its length (a batch needs only the status). Every error wraps
// one of the package's sentinels and never the URL.
func (c *Client) post(ctx context.Context, event string, body []byte, keep bool) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRequest, err)
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(c.cfg.Secret, ts, body))
	req.Header.Set(HeaderEvent, event)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, err)
	}
	defer resp.Body.Close()
	limit := c.cfg.MaxResponseBytes
	if limit < math.MaxInt64 {
		limit++
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, c.transportError(ctx, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("%w: %d", ErrStatus, resp.StatusCode)
	}
	if !keep {
		return nil, nil
	}
	if int64(len(answer)) > c.cfg.MaxResponseBytes {
		return nil, ErrTooLarge
	}
	return answer, nil
}

// transportError names why a request failed: the Client was closed, its
// deadline passed, or the network failed (the url.Error's URL left out).
func (c *Client) transportError(ctx context.Context, err error) error {
	switch {
	case c.ctx.Err() != nil:
		return ErrClosed
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return ErrTimeout
	}
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err
	}
	return fmt.Errorf("%w: %v", ErrTransport, err)
}
