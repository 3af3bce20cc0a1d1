package hook

import "errors"

// Errors of a hook call: ConnectResult.Err, PublishResult.Err and
// MessageResult.Err wrap exactly one of them (test with errors.Is), and the
// events batcher logs them. None carries the hook URL, which may hold a
// credential in its query.
var (
	// ErrBusy: MaxConcurrent calls were already in flight. Connect, Publish
	// and Message report it by returning false; Busy builds the matching
	// ConnectResult.
	ErrBusy = errors.New("hook: every call slot is busy")
	// ErrClosed: the Client was closed, or Close's context ended while the
	// call was in flight.
	ErrClosed = errors.New("hook: client closed")
	// ErrTimeout: the backend did not answer within ConnectTimeout (a
	// connect, publish or message call) or EventTimeout (a batch).
	ErrTimeout = errors.New("hook: backend did not answer in time")
	// ErrTransport: the request did not reach the backend or its answer was
	// cut (refused connection, reset, TLS failure).
	ErrTransport = errors.New("hook: backend unreachable")
	// ErrStatus: the backend answered with a status outside 2xx (a redirect
	// included: redirects are never followed).
	ErrStatus = errors.New("hook: backend answered with a non-2xx status")
	// ErrTooLarge: the answer's body exceeds MaxResponseBytes.
	ErrTooLarge = errors.New("hook: backend answer exceeds MaxResponseBytes")
	// ErrAnswer: the answer's body is not what its call expects (not JSON,
	// a field of the wrong type, a bound exceeded).
	ErrAnswer = errors.New("hook: malformed backend answer")
	// ErrRequest: the request could not be encoded (Data that is not valid
	// JSON); nothing was sent.
	ErrRequest = errors.New("hook: request cannot be encoded")
)

// Errors of Verify, one per reason a backend refuses a request.
var (
	// ErrSignatureMissing: no X-Wsgate-Timestamp or X-Wsgate-Signature.
	ErrSignatureMissing = errors.New("hook: signature headers missing")
	// ErrSignatureMalformed: a header is present but not in its format.
	ErrSignatureMalformed = errors.New("hook: signature headers malformed")
	// ErrSignatureExpired: the timestamp is outside the tolerance (a
	// replayed or badly delayed request, or a skewed clock).
	ErrSignatureExpired = errors.New("hook: signature timestamp outside the tolerance")
	// ErrSignatureMismatch: no v1 signature matches the body and timestamp.
	ErrSignatureMismatch = errors.New("hook: signature does not match")
)
