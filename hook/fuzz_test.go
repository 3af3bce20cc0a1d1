package hook

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The answer parsers read whatever a backend sends: they must never panic,
// must return ErrAnswer or a result within every bound, and a deny must
// never become an error. Seeds live in testdata/fuzz.

func FuzzParseConnectResult(f *testing.F) {
	f.Add([]byte(`{"allow":true,"user":"u1","subscribe":["chat.*"],"publish":["chat.*"]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseConnectResult(body)
		if err != nil {
			if !errors.Is(err, ErrAnswer) || r.Allow || r.User != "" || r.Subscribe != nil || r.Publish != nil || r.Status != 0 {
				t.Fatalf("error %v with result %+v", err, r)
			}
			return
		}
		if r.Err != nil {
			t.Fatalf("parser set Err: %+v", r)
		}
		if !r.Allow {
			if r.Status < 400 || r.Status > 599 || !printable(r.Reason) || r.User != "" || r.Subscribe != nil || r.Publish != nil {
				t.Fatalf("deny out of bounds: %+v", r)
			}
			return
		}
		if len(r.User) > MaxUserBytes || r.Status != 0 || r.Reason != "" {
			t.Fatalf("allow out of bounds: %+v", r)
		}
		for _, list := range [][]string{r.Subscribe, r.Publish} {
			if len(list) > MaxPatterns {
				t.Fatalf("%d patterns", len(list))
			}
			for _, p := range list {
				if !validName(p, MaxPatternBytes) {
					t.Fatalf("pattern %q", p)
				}
			}
		}
	})
}

func FuzzParsePublishResult(f *testing.F) {
	f.Add([]byte(`{"allow":true,"data":{"a":[1,2,{"b":null}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parsePublishResult(body)
		switch {
		case err != nil:
			if !errors.Is(err, ErrAnswer) || r.Allow || r.Data != nil || r.Reason != "" {
				t.Fatalf("error %v with result %+v", err, r)
			}
		case r.Allow:
			if r.Reason != "" || (r.Data != nil && (!json.Valid(r.Data) || string(r.Data) == "null")) {
				t.Fatalf("allow with data %q, reason %q", r.Data, r.Reason)
			}
		default:
			if r.Data != nil || !printable(r.Reason) {
				t.Fatalf("deny out of bounds: %+v", r)
			}
		}
	})
}

func FuzzParseMessageResult(f *testing.F) {
	f.Add([]byte(`{"reply":{"type":"ack"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseMessageResult(body)
		if err != nil {
			if !errors.Is(err, ErrAnswer) || r.Reply != nil {
				t.Fatalf("error %v with reply %q", err, r.Reply)
			}
			return
		}
		if r.Reply != nil && (!json.Valid(r.Reply) || string(r.Reply) == "null") {
			t.Fatalf("reply %q", r.Reply)
		}
	})
}

// FuzzVerify feeds Verify arbitrary headers: it must never panic, accept
// only a timestamp within the tolerance and a signature Sign would make,
// and always accept what Sign made.
func FuzzVerify(f *testing.F) {
	f.Add([]byte("0123456789abcdef"), "1700000000", "v1=00", []byte(`{}`), int64(1700000000))
	f.Fuzz(func(t *testing.T, secret []byte, ts, sig string, body []byte, now int64) {
		clock := time.Unix(now, 0)
		h := http.Header{HeaderTimestamp: {ts}, HeaderSignature: {sig}}
		if Verify(secret, h, body, clock, DefaultTolerance) == nil {
			n, ok := parseTimestamp(ts)
			tolerance := int64(DefaultTolerance / time.Second)
			if !ok || now <= -maxTimestamp || now >= maxTimestamp || n-now > tolerance || now-n > tolerance {
				t.Fatalf("accepted timestamp %q at %d", ts, now)
			}
			if want := signatureScheme + hex.EncodeToString(sum(secret, ts, body)); !containsSignature(sig, want) {
				t.Fatalf("accepted %q, the signature is %q", sig, want)
			}
		}
		if now < 0 || now > 1e15 { // Sign writes what a real clock gives
			return
		}
		h = http.Header{HeaderTimestamp: {strconv.FormatInt(now, 10)}, HeaderSignature: {Sign(secret, now, body)}}
		if err := Verify(secret, h, body, clock, DefaultTolerance); err != nil {
			t.Fatalf("Verify refused Sign's own headers: %v", err)
		}
	})
}

func printable(s string) bool {
	return len(s) <= MaxReasonBytes && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r > 0x7e })
}

func containsSignature(header, want string) bool {
	for elem := range strings.SplitSeq(header, ",") {
		if strings.EqualFold(strings.TrimSpace(elem), want) {
			return true
		}
	}
	return false
}
