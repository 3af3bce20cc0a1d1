package wire

import (
	"strconv"
	"time"
)

// Close codes the server sends for the gateway's own reasons (RFC 6455
// §7.4.1). They are untyped so they convert to any status type. Protocol
// violations are closed with wsproto's codes (1002, 1007, 1009), the
// violation as the reason.
const (
	// §7.4.1: "1000 indicates a normal closure, meaning that the purpose
	// for which the connection was established has been fulfilled."
	CloseNormal = 1000 // ReasonIdleTimeout
	// §7.4.1: "1001 indicates that an endpoint is "going away", such as a
	// server going down".
	CloseGoingAway = 1001 // ReasonShuttingDown, DrainingReason
	// §7.4.1: "1008 indicates that an endpoint is terminating the
	// connection because it has received a message that violates its
	// policy."
	ClosePolicyViolation = 1008 // ReasonSlowConsumer, ReasonTooManyErrors, ReasonRateLimited, ReasonPongTimeout
	// 1013 (IANA's registry, RFC 6455 §11.7): "Try Again Later".
	CloseTryAgainLater = 1013 // ReasonTooManyPartial
	// §7.4.2: "Status codes in the range 4000-4999 are reserved for
	// private use".
	CloseTokenExpired = 4001 // ReasonTokenExpired
)

// Close reasons, each sent with one code (above); clients may match them.
const (
	ReasonIdleTimeout   = "idle timeout"         // 1000: no data message for the idle timeout
	ReasonShuttingDown  = "server shutting down" // 1001: immediate shutdown
	ReasonSlowConsumer  = "slow consumer"        // 1008: unsent bytes passed the outbound bound
	ReasonTooManyErrors = "too many errors"      // 1008: error frames in a row past the gateway's bound
	ReasonRateLimited   = "rate limit exceeded"  // 1008: the same, the last rate_limited; /echo: at once
	ReasonPongTimeout   = "pong timeout"         // 1008: no frame in reply to a ping in time
	ReasonTokenExpired  = "token expired"        // 4001: the token ran out before a refresh
	// 1013: the node holds all the messages in part it may (MaxPartialBytes).
	ReasonTooManyPartial = "too many partial messages"

	// ReasonDrainingPrefix starts the 1001 reason of a graceful drain; the
	// milliseconds to wait before reconnecting follow (DrainingReason).
	ReasonDrainingPrefix = "draining; retry-after-ms="
)

// DrainingReason is the 1001 reason of a graceful drain, telling the client
// to reconnect (to another node) after about retryAfter:
// "draining; retry-after-ms=N", N in whole milliseconds.
func DrainingReason(retryAfter time.Duration) string {
	return ReasonDrainingPrefix + strconv.FormatInt(int64(retryAfter/time.Millisecond), 10)
}
