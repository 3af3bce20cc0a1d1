package reactor

import (
	"net/http"

	"github.com/wsgate/wsgate/wsproto"
)

// Handshake rejections of the gateway's own policies, beside wsproto's.
var (
	errBadQuery             = &wsproto.RejectError{Status: http.StatusBadRequest, Reason: "malformed query string"}
	errBadQueryChannel      = &wsproto.RejectError{Status: http.StatusBadRequest, Reason: "invalid channel name in ?channels="}
	errTooManyQueryChannels = &wsproto.RejectError{Status: http.StatusBadRequest, Reason: "too many channels in ?channels="}
	errNodeFull             = &wsproto.RejectError{Status: http.StatusServiceUnavailable, Reason: "node connection limit reached"}
	errIPFull               = &wsproto.RejectError{Status: http.StatusServiceUnavailable, Reason: "connection limit for this address reached"}
)
