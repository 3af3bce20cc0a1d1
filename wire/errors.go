package wire

// Error codes: the "code" of an error frame, {"type":"error","code":...}.
// They are a stable API (docs/protocol.md lists them): clients switch on
// them, so a code is never renamed or reused; a new condition gets a new
// code. The texts beside them are for humans and may change.
//
// The codes are plain strings so they compare equal to a decoded JSON
// value and pass to any API that writes them (admin's HTTP errors use the
// same codes).
const (
	CodeBadJSON              = "bad_json"               // the frame is not a JSON object
	CodeBadRequest           = "bad_request"            // a field is missing, or of the wrong type or size
	CodeUnknownType          = "unknown_type"           // "type" is not a command the server knows
	CodeBadChannel           = "bad_channel"            // the channel name breaks ChannelRule
	CodeTooLarge             = "too_large"              // "data" is larger than the publish limit
	CodeTooManySubscriptions = "too_many_subscriptions" // the connection's subscription limit is reached
	CodeTooManyChannels      = "too_many_channels"      // the node's channel limit is reached
	CodeNotSubscribed        = "not_subscribed"         // unsubscribe from a channel not subscribed
	CodeUnsupported          = "unsupported"            // a binary frame on JSON, a text frame on wsgate.v1.proto
	CodePublishFailed        = "publish_failed"         // the relay refused the publication (its error is the text)
	CodeForbidden            = "forbidden"              // the token does not allow the channel
	CodeRateLimited          = "rate_limited"           // over the connection's rate limit: the message was dropped
	CodeUnauthorized         = "unauthorized"           // a refresh was refused (the verifier's error may be the text)
	CodeDropped              = "dropped"                // messages were lost to a slow read (AppendDroppedOn)
	CodeBadSince             = "bad_since"              // "since" is not {"offset":N,"epoch":"E"}, E a valid epoch
	CodeBadKey               = "bad_idempotency_key"    // "idempotency_key" is not 1-64 printable ASCII bytes
	CodeBadLimit             = "bad_limit"              // a history's "limit" is not an integer of at least 1
	CodeNoHistory            = "no_history"             // a since or a history on a channel that keeps no history
	CodeHistoryUnavailable   = "history_unavailable"    // the history store could not be read: retry
	CodeBadProtobuf          = "bad_protobuf"           // wsgate.v1.proto: the binary frame is not a ClientFrame
	CodeBusy                 = "busy"                   // the backend's hooks are saturated: retry later
	CodeNoPresence           = "no_presence"            // "presence": true on a channel that keeps no presence
	CodeHookUnavailable      = "hook_unavailable"       // the backend's hook failed or did not answer in time
)

// Error is an error frame's code and text. The values below are sentinels,
// one per condition with a fixed text: compare them with ==. A condition
// whose text carries a detail (publish_failed, unauthorized from the
// verifier, dropped) is written with AppendError or AppendDroppedOn instead.
type Error struct {
	Code    string // one of the Code constants
	Message string // for humans: what was wrong, and what to do
}

func (e *Error) Error() string { return "wire: " + e.Code + ": " + e.Message }

// The error frames with a fixed text, by code: the one table of what the
// server answers a command it refuses.
var (
	// bad_json, bad_request, unknown_type, bad_channel, too_large,
	// bad_since, bad_idempotency_key, bad_limit: ParseCommand.
	ErrNotJSON             = &Error{CodeBadJSON, "frame is not a JSON object"}
	ErrBadID               = &Error{CodeBadRequest, `"id" must be a number or a string of at most 64 bytes`} // MaxIDBytes
	ErrPublishWithoutData  = &Error{CodeBadRequest, `publish needs "data"`}
	ErrRefreshWithoutToken = &Error{CodeBadRequest, `refresh needs "token"`}
	ErrSendWithoutData     = &Error{CodeBadRequest, `send needs "data"`}
	ErrNoPresence          = &Error{CodeNoPresence, "this channel keeps no presence (--presence)"}
	ErrNoMessageHook       = &Error{CodeUnsupported, "send needs the node's message hook (--hook-message), which is off"}
	ErrHookBusy            = &Error{CodeBusy, "the backend's hooks are busy: retry later"}
	ErrHookUnavailable     = &Error{CodeHookUnavailable, "the backend's hook failed or did not answer in time"}
	ErrBadPresence         = &Error{CodeBadRequest, `"presence" must be true or false`}
	ErrUnknownType         = &Error{CodeUnknownType, `"type" must be subscribe, unsubscribe, publish, history, refresh, send or pong`}
	ErrBadChannel          = &Error{CodeBadChannel, ChannelRule}
	ErrDataTooLarge        = &Error{CodeTooLarge, "data exceeds the publish size limit"}
	ErrBadSince            = &Error{CodeBadSince, `"since" must be {"offset":N,"epoch":"E"}: N an integer 0 to 2^64-1 in digits, E 1-64 bytes of letters, digits and ._:-`} // MaxEpochBytes
	ErrBadKey              = &Error{CodeBadKey, `"idempotency_key" must be a string of 1-64 printable ASCII bytes, no spaces`}                                              // MaxKeyBytes
	ErrBadLimit            = &Error{CodeBadLimit, `"limit" must be an integer of at least 1, in digits (above 1000 it is lowered to 1000)`}                                 // MaxHistoryLimit

	// The gateway's answers to a well-formed command.
	ErrBinaryFrame          = &Error{CodeUnsupported, "binary frames are not part of the protocol: send JSON text"}
	ErrTooManySubscriptions = &Error{CodeTooManySubscriptions, "subscription limit reached"}
	ErrTooManyChannels      = &Error{CodeTooManyChannels, "the node's channel limit is reached"}
	ErrNotSubscribed        = &Error{CodeNotSubscribed, "not subscribed to this channel"}
	ErrSubscribeForbidden   = &Error{CodeForbidden, "the token does not allow subscribing to this channel"}
	ErrPublishForbidden     = &Error{CodeForbidden, "the token does not allow publishing to this channel"}
	ErrRateLimited          = &Error{CodeRateLimited, "message dropped: over the connection's rate limit"}
	ErrAuthNotConfigured    = &Error{CodeUnauthorized, "authentication is not configured on this server"}
	ErrAnonymousRefresh     = &Error{CodeUnauthorized, "an anonymous connection cannot refresh: reconnect with a token"}
	ErrOtherSubject         = &Error{CodeUnauthorized, "the new token is for another subject"}
	ErrNoHistory            = &Error{CodeNoHistory, "this channel keeps no history: since and history need history enabled for it"}
	ErrHistoryUnavailable   = &Error{CodeHistoryUnavailable, "history is unavailable right now: retry"}
)
