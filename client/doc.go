// Package client is the Go client of wsgate: one WebSocket connection to
// one of a list of nodes, kept up until Close, with subscriptions that
// survive reconnections and, on channels with history, resume where they
// left off: each retained publication delivered once, in order, or an event
// saying that cannot be (docs/protocol.md, docs/history.md).
//
//	c := client.New([]string{"wss://a.example/ws", "wss://b.example/ws"}, client.Options{
//		Token:  func(ctx context.Context) (string, error) { return myAuth.Token(ctx) },
//		OnPush: func(data json.RawMessage) { ... }, // from the backend, for this connection
//	})
//	defer c.Close()
//	if err := c.Connect(ctx); err != nil { ... }
//	sub, err := c.Subscribe(ctx, "orders", func(m client.Message) { ... },
//		client.WithEvents(func(e client.Event) { ... }))
//	err = c.Publish(ctx, "orders", order)          // acknowledged, idempotent across reconnections
//	page, err := c.History(ctx, "orders", nil, 100) // retained publications
//	err = c.Send(ctx, map[string]any{"cmd": "hi"})  // to the backend's message hook
//	room, err := c.Subscribe(ctx, "room.42", onMessage,
//		client.WithPresence(onJoin, onLeave))      // who joins and leaves the channel
//
// # Design
//
// A client runs, while connected, one connection goroutine that dials and
// then reads the socket (it answers pings, parses frames, and applies
// them under the client's mutex), one writer goroutine per connection that
// drains a queue of frames (so no caller ever writes to the socket, or
// waits for it, under the mutex, and frames go out in the order they were
// queued), one token refresher per connection when the token has an exp,
// one delivery goroutine per subscription that calls its handler, and,
// from the first push, one that calls Options.OnPush. The reader never
// waits for a handler: each subscription queues its messages, events and
// presence changes without bound, in order (and the client its pushes),
// so a slow handler costs memory, not the connection (the server's
// slow-consumer policy never sees it). Close stops them all and returns
// once they have ended, handlers included: it must not be called from a
// handler, an event callback or OnState.
//
// The handshake is wsproto's client side (the one bench and the test
// client use), with the token in "Authorization: Bearer" rather than the
// URL. The package imports nothing of the server (reactor, relay, admin,
// auth), the binaries or internal packages: deps_test.go holds it to that.
//
// # Formats
//
// Frames are wire's JSON in text frames (FormatJSON, the default) or, with
// Options.Format FormatProtobuf, wireproto's Protobuf in binary frames: the
// client offers the subprotocol wsgate.v1.proto (the token stays in the
// Authorization header), fails a connection whose server does not echo it
// (ErrSubprotocolRefused), sends each command as a ClientFrame and reads
// ServerFrames. One codec per format turns commands into frames and
// frames into what the client acts on, so everything below holds alike in
// both; ids are the same numbers (a Protobuf id of 0 is none, and the
// client's start at 1). Only a publication's data differs: bytes in
// Protobuf, a JSON value in JSON (Publish, Message).
//
// Commands carry numeric ids unique for the client's life. A command
// waiting for its answer when its connection ends is handled by kind:
// a publication (with its idempotency key, random per Publish unless
// WithIdempotencyKey gives one) and a history read are sent again on the
// next connection until they are answered or their context
// (Options.PublishTimeout at most) ends; subscriptions are subscribed
// again; an unsubscribe is done (the server forgot the connection's
// subscriptions); a token refresh fails (the next connection presents a
// fresh token anyway); a send fails with ErrConnectionLost (it has no
// idempotency key: sent again it could reach the backend twice).
// Publications, history reads, subscribes and sends made while
// disconnected wait for the next connection.
//
// # Reconnecting
//
// Connect tries the URLs in order until one answers with its connected
// frame; every later attempt goes to the next URL in the list, so a client
// leaving a draining or failed node tries another first. Between attempts:
//
//   - by default, full-jitter exponential backoff: a uniformly random wait
//     in [0, min(MaxBackoff, MinBackoff·2^n)) after the n-th failure in a
//     row (250 ms and 10 s by default); a connection that stayed up for
//     ResetBackoffAfter (30 s) starts the sequence again;
//   - close 1001 "draining; retry-after-ms=N": a uniformly random wait in
//     [D, 1.5·D), D = max(N ms, MinBackoff): the server already spread N
//     over its drain window, and the floor spares a server announcing 0 a
//     storm of handshakes. The drain of a connection that stayed up
//     ResetBackoffAfter is not a failure; the drain of a shorter-lived one
//     counts as one (the wait is then at least the backoff's), so repeated
//     drains of short connections back off;
//   - close 4001 (token expired): a fresh token from Options.Token and a
//     new attempt within MinBackoff;
//   - a 503 or 429 refusal: at least its Retry-After (plus jitter), else
//     the backoff;
//   - a 401 refusal: one more attempt, within MinBackoff, with a fresh
//     token (it may just have expired), then the backoff; see the final
//     refusals below.
//
// The server pings a connection it has not heard from for its
// ping_interval_ms (in the connected frame); the client answers with pongs
// and takes a connection from which nothing at all has arrived for
// ping_interval_ms (at most 10 minutes) plus a margin (half the interval,
// at least 5 s) for dead, and reconnects.
//
// # Final refusals
//
// Some endings mean that trying again cannot help: the client then closes
// itself instead of reconnecting. State becomes StateClosed, Err returns
// the refusal (a *CloseError, a *HandshakeError, or ErrSubprotocolRefused
// wrapped), waiting calls fail with it (wrapped with ErrClosed),
// subscriptions get an EventEnded with it, and Connect returns it when it
// happens before the first connection.
// They are:
//
//   - close 4001 (token expired) without Options.Token: the same token,
//     or none, would be presented again;
//   - before the client first connected, a handshake refused with a 4xx
//     other than 401, 408 and 429 (400: a bad URL query, 403: origin or
//     channel not allowed, 404: wrong path, 426, 431: headers too large):
//     the URL or the options are wrong;
//   - before the client first connected, 401 twice in a row (a fresh
//     token did not help), or once when there is no Options.Token to get
//     another;
//   - with FormatProtobuf, before the client first connected, a server
//     that accepted the handshake but not the subprotocol wsgate.v1.proto
//     (an error wrapping ErrSubprotocolRefused): it speaks only JSON.
//
// Once the client has connected, no handshake refusal (nor a refused
// subprotocol) is final: the refusing node may be one misconfigured node
// among several, or a proxy or a rollout's passing state, so the client
// keeps trying, with backoff, over its URLs.
//
// Everything else reconnects: network errors, silence, 5xx and 408
// refusals, close 1000 (idle timeout), 1001 (shutting down or draining),
// 1002 (protocol error), 1003, 1007 (text that is not UTF-8), 1008 (slow
// consumer, pong timeout, too many errors, rate limit), 1010, 1011, 4001
// with Options.Token, and private codes the client does not know: none
// says "do not come back", and each may come from one node or one burst
// (the JavaScript client decides alike). Close 1009 (a frame over the
// server's size limit) reconnects too, but the commands in flight on that
// connection fail with it instead of being sent again: one of them was too
// large and would close every connection.
//
// # Subscriptions and resume
//
// A subscription keeps, per channel, the client's rules of docs/history.md
// ("The client's rules"): L, the offset of the last publication delivered,
// and E, its epoch, both taken from the acks on a channel with history.
//
//   - Every new connection subscribes each subscription again, with since
//     {L, E} once it has a position, and ignores its messages until the
//     ack. recovered:true: the missed publications follow, in order
//     (EventResumed). recovered:false: they may be lost, L and E become
//     the ack's (EventNotRecovered: read what is retained with History).
//   - A message with prev > L (a gap: the node fell behind, or the
//     connection was too slow under slow policy drop or conflate) or with
//     offset <= L (a duplicate, or offsets restarted in a new epoch) is
//     not delivered: the client subscribes again with since {L, E} on the
//     same connection and ignores the channel until the ack. So no
//     publication is delivered twice, and none is skipped silently.
//   - An ack without id (history lost mid-replay) moves L and E to its
//     position (EventNotRecovered), except while a subscribe of the
//     channel is pending: that subscribe's own ack then decides.
//   - A "dropped" notice is passed on (EventDropped); on a channel with
//     history, when the gap starts at or after L, the client resumes at
//     once instead of waiting for the channel's next message.
//   - unsubscribed with reason history_unavailable: the client subscribes
//     again with since after 1 to 2 s. With forbidden (a refreshed token
//     no longer allows the channel) or server (the backend unsubscribed
//     the connection through its control API) the subscription ends
//     (EventEnded, Reason and Err's Code the reason) and is not
//     subscribed again on later connections.
//   - A resubscription refused with history_unavailable,
//     too_many_channels or rate_limited is retried after 1 to 2 s on the
//     same connection, as long as it is refused; with no_history (the
//     channel keeps none any more) or bad_since it goes on without since
//     (EventNotRecovered); any other refusal
//     (forbidden...) ends it (EventEnded). The first subscribe is
//     different: Subscribe returns its refusal and nothing is subscribed.
//
// On a channel without history (acks without position, messages without
// offset) messages are delivered as they come: delivery is at most once,
// and what was published while disconnected is not recovered nor
// signalled (docs/protocol.md, "Delivery guarantees").
//
// A Subscription's Position can be kept to resume in a later run
// (WithSince; the zero Position of a channel without history subscribes
// without since).
//
// # The backend: sends, pushes, presence
//
// A node with hooks and the control API (docs/backend.md) talks to one
// connection at a time, by its ID: ClientID, "<node>.<32 hex digits>",
// new on every connection.
//
//   - Send hands data to the backend's message hook; the hook's reply, if
//     any, comes back as a push before Send's acknowledgement.
//   - Options.OnPush gets each push: the hook's replies and what the
//     backend sends the connection (or its user) through the control API.
//     Pushes are not stored: one sent while the client is disconnected is
//     lost.
//   - WithPresence asks, in every subscribe of the subscription (after
//     each reconnection too), for the channel's join and leave frames,
//     passed to its callbacks in order with its messages. They are
//     changes, not a list; see WithPresence.
//   - A subscription the backend ends is an EventEnded with Reason
//     wire.UnsubscribedServer; one the backend makes (control API
//     subscribe) is silent, and its messages, which name a channel the
//     client has no Subscription for, are dropped.
//
// With a publish hook, Publish may also fail with wire.CodeBusy,
// wire.CodeHookUnavailable, or wire.CodeForbidden and the backend's reason
// as Message.
//
// # Tokens
//
// Options.Token is called before each connection attempt. When its token
// is a JWT with an exp (read without verifying: the server verifies),
// the client sends a refresh frame with a new token from Options.Token
// RefreshBefore the expiry (30 s by default; half the remaining life for a
// token shorter than twice that), on the same connection, and again before
// the new token's expiry. A refresh that failed (the token function
// failed, no answer in time) is retried 5 s later; one the server refused
// gives the connection up and the client reconnects with a fresh token;
// if the token expires anyway the server closes with 4001 and the client
// reconnects with a fresh one.
//
// # Errors
//
// Error frames come back as *Error; switch on Code, one of the stable
// codes of docs/protocol.md (the wire.Code constants: wire.CodeForbidden,
// wire.CodeRateLimited, ...). Commands whose context ends before the
// answer return an error wrapping the context's; on a client not started
// (Connect never called, or given up) the error says so: commands wait
// for a connection, and only Connect makes one. Calls on a closed client
// return ErrClosed.
package client
