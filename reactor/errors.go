package reactor

import (
	"errors"
	"net/http"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/wsproto"
)

// Header lines of the gateway's refusals. RFC 9110 §15.5.2: "The server
// generating a 401 response MUST send a WWW-Authenticate header field";
// §10.2.3 Retry-After tells a client refused 429 how long to wait.
const (
	headerAuthenticate = "WWW-Authenticate: Bearer\r\n"
	headerRetryAfter   = "Retry-After: 1\r\n"
)

// Handshake rejections of the gateway's own policies (wsproto keeps the
// refusals of RFC 6455 itself): routing, drain, time, query, host and
// origin, limits, channel permissions.
var (
	errNotFound               = &wsproto.RejectError{Status: http.StatusNotFound, Reason: "no WebSocket endpoint at this path"}
	errHandshakeTimeout       = &wsproto.RejectError{Status: http.StatusRequestTimeout, Reason: "handshake not completed in time"}
	errDraining               = &wsproto.RejectError{Status: http.StatusServiceUnavailable, Reason: "server is draining"}
	errBadQuery               = &wsproto.RejectError{Status: http.StatusBadRequest, Reason: "malformed query string"}
	errBadQueryChannel        = &wsproto.RejectError{Status: http.StatusBadRequest, Reason: "invalid channel name in ?channels="}
	errTooManyQueryChannels   = &wsproto.RejectError{Status: http.StatusBadRequest, Reason: "too many channels in ?channels="}
	errNodeFull               = &wsproto.RejectError{Status: http.StatusServiceUnavailable, Reason: "node connection limit reached"}
	errIPFull                 = &wsproto.RejectError{Status: http.StatusServiceUnavailable, Reason: "connection limit for this address reached"}
	errHandshakesIP           = &wsproto.RejectError{Status: http.StatusServiceUnavailable, Reason: "too many handshakes in progress from this address", Header: headerRetryAfter}
	errHandshakeRate          = &wsproto.RejectError{Status: http.StatusTooManyRequests, Reason: "too many connection attempts from this address", Header: headerRetryAfter}
	errOrigin                 = &wsproto.RejectError{Status: http.StatusForbidden, Reason: "origin not allowed"}
	errHost                   = &wsproto.RejectError{Status: http.StatusForbidden, Reason: "host not allowed"}
	errDuplicateAuthorization = &wsproto.RejectError{Status: http.StatusBadRequest, Reason: "more than one Authorization header"}
	errTooManyChannels        = &wsproto.RejectError{Status: http.StatusServiceUnavailable, Reason: "node channel limit reached"}
	errHistoryBusy            = &wsproto.RejectError{Status: http.StatusServiceUnavailable, Reason: "history reads are saturated: retry", Header: headerRetryAfter}
	errChannelForbidden       = &wsproto.RejectError{Status: http.StatusForbidden, Reason: "the token does not allow a channel in ?channels="}
	errChannelNeedsToken      = &wsproto.RejectError{Status: http.StatusUnauthorized, Reason: "token required for a channel in ?channels=", Header: headerAuthenticate}
)

// 401 answers, one per auth error (their text is the reason).
var (
	errNoToken        = unauthorized(auth.ErrNoToken)
	errMultipleTokens = unauthorized(auth.ErrMultipleTokens)
	errMalformed      = unauthorized(auth.ErrMalformed)
	errAlgorithm      = unauthorized(auth.ErrAlgorithm)
	errUnknownKey     = unauthorized(auth.ErrUnknownKey)
	errSignature      = unauthorized(auth.ErrSignature)
	errExpired        = unauthorized(auth.ErrExpired)
	errNotYetValid    = unauthorized(auth.ErrNotYetValid)
	errClaims         = unauthorized(auth.ErrClaims)
)

func unauthorized(err error) *wsproto.RejectError {
	return &wsproto.RejectError{Status: http.StatusUnauthorized, Reason: err.Error(), Header: headerAuthenticate}
}

// rejectAuth maps an error of auth.Extract or Verifier.Verify to its 401.
func rejectAuth(err error) *wsproto.RejectError {
	for _, r := range []struct {
		err    error
		reject *wsproto.RejectError
	}{
		{auth.ErrNoToken, errNoToken}, {auth.ErrMultipleTokens, errMultipleTokens},
		{auth.ErrMalformed, errMalformed}, {auth.ErrAlgorithm, errAlgorithm},
		{auth.ErrUnknownKey, errUnknownKey}, {auth.ErrExpired, errExpired},
		{auth.ErrNotYetValid, errNotYetValid}, {auth.ErrClaims, errClaims},
	} {
		if errors.Is(err, r.err) {
			return r.reject
		}
	}
	return errSignature
}
