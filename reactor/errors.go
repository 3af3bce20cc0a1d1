package reactor

import (
	"errors"
	"net/http"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/wsproto"
)

// Handshake rejections of the gateway's own policies, beside wsproto's.
var (
	errBadQuery               = &wsproto.RejectError{Status: http.StatusBadRequest, Reason: "malformed query string"}
	errBadQueryChannel        = &wsproto.RejectError{Status: http.StatusBadRequest, Reason: "invalid channel name in ?channels="}
	errTooManyQueryChannels   = &wsproto.RejectError{Status: http.StatusBadRequest, Reason: "too many channels in ?channels="}
	errNodeFull               = &wsproto.RejectError{Status: http.StatusServiceUnavailable, Reason: "node connection limit reached"}
	errIPFull                 = &wsproto.RejectError{Status: http.StatusServiceUnavailable, Reason: "connection limit for this address reached"}
	errHandshakeRate          = &wsproto.RejectError{Status: http.StatusTooManyRequests, Reason: "too many connection attempts from this address"}
	errOrigin                 = wsproto.ErrForbidden // 403 "origin not allowed"
	errHost                   = &wsproto.RejectError{Status: http.StatusForbidden, Reason: "host not allowed"}
	errDuplicateAuthorization = &wsproto.RejectError{Status: http.StatusBadRequest, Reason: "more than one Authorization header"}
	errTooManyChannels        = &wsproto.RejectError{Status: http.StatusServiceUnavailable, Reason: "node channel limit reached"}
	errChannelForbidden       = &wsproto.RejectError{Status: http.StatusForbidden, Reason: "the token does not allow a channel in ?channels="}
	errChannelNeedsToken      = &wsproto.RejectError{Status: http.StatusUnauthorized, Reason: "token required for a channel in ?channels="}
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
	return &wsproto.RejectError{Status: http.StatusUnauthorized, Reason: err.Error()}
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
