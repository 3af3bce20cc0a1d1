package reactor

import (
	"bufio"
	"bytes"
	"net/http"
	"testing"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/wsproto"
)

// Every refusal of the gateway's policies answers with its status, its
// reason as the body, and the header lines its status calls for: 401s
// carry "WWW-Authenticate: Bearer" (RFC 9110 §15.5.2), 429 "Retry-After".
func TestGatewayRejections(t *testing.T) {
	for _, tc := range []struct {
		err    *wsproto.RejectError
		status int
	}{
		{errNotFound, 404}, {errHandshakeTimeout, 408}, {errDraining, 503}, {errBadQuery, 400}, {errBadQueryChannel, 400},
		{errTooManyQueryChannels, 400}, {errNodeFull, 503}, {errIPFull, 503}, {errHandshakeRate, 429},
		{errOrigin, 403}, {errHost, 403}, {errDuplicateAuthorization, 400}, {errTooManyChannels, 503},
		{errChannelForbidden, 403}, {errChannelNeedsToken, 401}, {errNoToken, 401}, {errMultipleTokens, 401},
		{errMalformed, 401}, {errAlgorithm, 401}, {errUnknownKey, 401}, {errSignature, 401},
		{errExpired, 401}, {errNotYetValid, 401}, {errClaims, 401}, {rejectAuth(auth.ErrExpired), 401},
	} {
		raw := wsproto.AppendReject(nil, tc.err)
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		want := map[string]string{"WWW-Authenticate": "", "Retry-After": ""}
		switch tc.status {
		case 401:
			want["WWW-Authenticate"] = "Bearer"
		case 429:
			want["Retry-After"] = "1"
		}
		if resp.StatusCode != tc.status || body.String() != tc.err.Reason+"\n" || !resp.Close {
			t.Errorf("%q: want %d %q, closing", raw, tc.status, tc.err.Reason)
		}
		for name, value := range want {
			if got := resp.Header.Get(name); got != value {
				t.Errorf("%d %s: %s %q, want %q", tc.status, tc.err.Reason, name, got, value)
			}
		}
	}
	if rejectAuth(auth.ErrExpired) != errExpired {
		t.Errorf("rejectAuth(ErrExpired) is not the 401 sentinel")
	}
}
