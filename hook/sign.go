package hook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers of every request the package sends.
const (
	// HeaderTimestamp holds the request's Unix time in seconds, decimal.
	HeaderTimestamp = "X-Wsgate-Timestamp"
	// HeaderSignature holds "v1=<hex>", or several such values separated
	// by commas (Verify accepts a match with any of them, so a sender can
	// sign with an old and a new key while backends rotate).
	HeaderSignature = "X-Wsgate-Signature"
	// HeaderEvent names the request's kind: connect, publish, message or
	// events. It is a routing hint only and is not signed; the body's
	// "type" field, which is, is the authority.
	HeaderEvent = "X-Wsgate-Event"
)

// DefaultTolerance is the replay window Verify applies when given a
// tolerance of 0 or less, and the one backends should use: wide enough for
// clock skew and a retried batch's delay, narrow enough that a captured
// request soon stops being accepted.
const DefaultTolerance = 5 * time.Minute

// signatureScheme prefixes each signature value; a later scheme would get
// its own prefix and Verify skips schemes it does not know.
const signatureScheme = "v1="

// Sign returns the HeaderSignature value for body sent at Unix time ts:
// "v1=" and the lowercase hex of HMAC-SHA256(secret, ts + "." + body), ts
// written in decimal as in HeaderTimestamp.
func Sign(secret []byte, ts int64, body []byte) string {
	mac := sum(secret, strconv.FormatInt(ts, 10), body)
	return signatureScheme + hex.EncodeToString(mac)
}

// sum is the MAC of one request: the timestamp exactly as it travels in
// HeaderTimestamp, a dot, and the body.
func sum(secret []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a request from a wsgate node: header carries its
// HeaderTimestamp and HeaderSignature, body is its whole body. It returns
// nil when the timestamp is within tolerance of now (either way: a clock
// may be ahead) and one v1 signature matches; otherwise
// ErrSignatureMissing, ErrSignatureMalformed, ErrSignatureExpired or
// ErrSignatureMismatch. A tolerance of 0 or less means DefaultTolerance.
//
// The comparison takes constant time. The window bounds replay only: a
// backend that must refuse a replay inside it remembers the signatures it
// accepted for the window's length.
func Verify(secret []byte, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	stamps, sigs := header.Values(HeaderTimestamp), header.Values(HeaderSignature)
	if len(stamps) == 0 || len(sigs) == 0 {
		return ErrSignatureMissing
	}
	if len(stamps) > 1 {
		return ErrSignatureMalformed
	}
	ts, ok := parseTimestamp(stamps[0])
	if !ok {
		return ErrSignatureMalformed
	}
	macs, ok := parseSignatures(sigs)
	if !ok {
		return ErrSignatureMalformed
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	// Seconds on both sides, since so large a difference does not fit a
	// Duration; with both within ±maxTimestamp, the difference fits int64.
	sec := now.Unix()
	if sec <= -maxTimestamp || sec >= maxTimestamp {
		return ErrSignatureExpired
	}
	skew := sec - ts
	if skew < 0 {
		skew = -skew
	}
	if skew > int64(tolerance/time.Second) {
		return ErrSignatureExpired
	}
	want := sum(secret, stamps[0], body)
	match := false
	for _, mac := range macs {
		match = hmac.Equal(mac, want) || match
	}
	if !match {
		return ErrSignatureMismatch
	}
	return nil
}

// maxTimestamp bounds a timestamp: 18 digits at most.
const maxTimestamp = 1e18

// parseTimestamp reads a HeaderTimestamp value: 1 to 18 decimal digits, no
// sign or space, so it is below maxTimestamp and means one thing.
func parseTimestamp(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	ts, err := strconv.ParseInt(s, 10, 64)
	return ts, err == nil
}

// parseSignatures reads the HeaderSignature values: comma-separated
// "scheme=value" elements, spaces around them allowed. Elements of other
// schemes are skipped; each v1 value must be 64 hex digits, and at least
// one must be present.
func parseSignatures(values []string) ([][]byte, bool) {
	var macs [][]byte
	for _, v := range values {
		for elem := range strings.SplitSeq(v, ",") {
			elem = strings.TrimSpace(elem)
			if !strings.Contains(elem, "=") {
				return nil, false
			}
			hexMAC, ok := strings.CutPrefix(elem, signatureScheme)
			if !ok {
				continue
			}
			if len(hexMAC) != 2*sha256.Size {
				return nil, false
			}
			mac, err := hex.DecodeString(hexMAC)
			if err != nil {
				return nil, false
			}
			macs = append(macs, mac)
		}
	}
	return macs, len(macs) > 0
}
