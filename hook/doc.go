// Package hook is the client side of wsgate's event hooks: a node calls an
// HTTP endpoint of the user's backend (--hook-url) when a connection opens,
// publishes or sends a message, and tells it, in batches, when one
// subscribes, unsubscribes or closes: the $connect, $default and
// $disconnect routes of API Gateway, every request signed with
// --hook-secret. The package owns the requests, their signatures, their
// bounds and the goroutines that make them; it knows nothing of sockets,
// frames or event loops, and imports only the standard library.
//
// # Who may call what, from which goroutine
//
// Connect, Publish, Message, Emit and Stats may be called from any
// goroutine, an event loop included: none blocks or does I/O. Each either
// returns at once with a refusal (false) or hands the work to the Client's
// own goroutines, of which there are at most Config.MaxConcurrent call
// goroutines and one batcher. New starts the batcher; Close ends them all.
//
// # Synchronous calls: connect, publish, message
//
// A handshake cannot complete until the backend has decided, so the connect
// hook is a call with an answer. It must not hold up the event loop that
// owns the connection, nor let a slow backend make the gateway pile up
// goroutines and sockets. So:
//
//   - Connect takes one of MaxConcurrent slots (256) or returns false at
//     once. False means "busy": the caller applies Busy's outcome (refuse
//     with 503, or allow under FailOpen) and Stats.Busy counts it. No
//     queue: a backlog would only answer handshakes the client has given up
//     on. Publish and message calls, which clients make at will, may not
//     take the last quarter of the slots: those stay for connect calls.
//   - A call holding a slot runs on a goroutine of its own, bounded by
//     ConnectTimeout (2s) from request to last answer byte, and ends by
//     calling done exactly once with the result; the slot is freed when
//     done returns. done should only pass the result to the connection's
//     loop.
//   - A failed call (timeout, unreachable, non-2xx, oversized or malformed
//     answer) sets Err and follows FailOpen (false: refuse with 503
//     "connect hook unavailable"). A deny is never turned into an error, so
//     FailOpen cannot admit a connection the backend refused.
//
// Publish (allow, deny or rewrite a client's publication) and Message (a
// client's "send" frame, with an optional reply) share the slots and the
// contract; a failed publish call denies.
//
// Requests are encoded before the method returns, so the caller may reuse
// their maps and Data at once. A connect request carries at most
// MaxHeaderNames (64) header names and MaxHeaderBytes (8 KiB) of names and
// values, taken in sorted name order, so one client cannot make the node
// send a large body.
//
// # Asynchronous events: disconnect, subscribe, unsubscribe
//
// Nothing waits for these, so Emit only appends to a queue of QueueSize
// (10,000) events and returns (subscribe and unsubscribe events only up to
// three quarters of it: the last quarter is for disconnect events, so
// clients churning subscriptions cannot crowd out the others'
// disconnects); when the queue is full it drops the event,
// counts it (Stats.EventsDropped) and the batcher logs the running total at
// most once per 10 s (Close logs what is left unlogged). The batcher POSTs up to BatchSize (100) events at a
// time, after BatchWait (50ms) at most for a partial batch, which turns a
// mass disconnection into a few hundred requests instead of a million. A
// batch that fails (transport error, non-2xx, EventTimeout of 5s) is sent
// again, the same events in the same order, after a backoff from RetryMin
// (100ms) doubling to RetryMax (10s), each wait drawn uniformly below it
// (full jitter, so recovering nodes do not stampede the backend). Events
// keep their order; delivery is at least once (a batch whose answer was
// lost is sent again). Close sends what is queued until its context ends,
// then counts the rest as dropped.
//
// # Signatures
//
// Every request is a POST of a JSON body whose "type" is "connect",
// "publish", "message" or "events", with the headers
//
//	Content-Type: application/json
//	X-Wsgate-Timestamp: <Unix seconds>
//	X-Wsgate-Signature: v1=<lowercase hex of HMAC-SHA256(secret, timestamp + "." + body)>
//	X-Wsgate-Event: connect | publish | message | events
//
// The timestamp is part of the MAC, so a captured request cannot be
// replayed once it leaves the backend's window: check it with Verify and a
// tolerance of 5 minutes (DefaultTolerance; a batch may be retried for a
// while, and clocks drift). Each retry of a batch is signed anew.
// X-Wsgate-Signature may carry several comma-separated v1 values, any of
// which may match (rotation: sign with the old and the new key until every
// backend has the new one). Redirects are never followed, so a signed body
// goes only to the configured URL. A secret is at least 16 bytes.
//
// # Answers
//
// A connect answer is {"allow":true,"user":"u1","subscribe":["chat.*"],
// "publish":["chat.*"]} or {"allow":false,"status":401,"reason":"bad
// session"}; a publish answer {"allow":true}, {"allow":true,"data":<JSON>}
// or {"allow":false,"reason":"..."}; a message answer an empty body (200 or
// 204) or {"reply":<JSON>}. Unknown fields are ignored; anything else is
// ErrAnswer. Bounds: a body of at most MaxResponseBytes (64 KiB, reading
// stops one byte past it), a user of MaxUserBytes (256), at most
// MaxPatterns (64) patterns of MaxPatternBytes (256) each, and a reason cut
// to MaxReasonBytes (123: it must fit a close frame) of printable ASCII.
// The patterns are returned as text: the gateway compiles them.
//
// # Bounds and their defaults
//
//	ConnectTimeout    2s      per connect, publish or message call
//	MaxConcurrent     256     calls in flight (goroutines); connections to the backend: +2
//	QueueSize         10,000  events waiting, the batch being sent included
//	BatchSize         100     events per POST
//	BatchWait         50ms    how long a partial batch waits
//	RetryMin/Max      100ms/10s  backoff of a failed batch
//	EventTimeout      5s      per batch POST
//	MaxResponseBytes  64 KiB  per answer body (response headers: 64 KiB)
package hook
