package hook

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestConnectAllowWithGrants(t *testing.T) {
	var got atomic.Pointer[map[string]any]
	srv := newBackend(t, func(w http.ResponseWriter, r *http.Request, event string, body []byte) {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Errorf("request body: %v", err)
		}
		got.Store(&m)
		answer(200, `{"allow":true,"user":"u1","subscribe":["chat.*","news"],"publish":["chat.*"],"extra":{"ignored":1}}`)(w, r, event, body)
	})
	c := newClient(t, Config{URL: srv.URL})
	req := ConnectRequest{
		Conn: "c1", Node: "n1", RemoteAddr: "10.0.0.1:5555", Path: "/ws", Query: "channels=news",
		Headers:  map[string][]string{"Cookie": {"session=abc"}, "Origin": {"https://example.com"}},
		Channels: []string{"news"}, User: "token-sub",
	}
	r := callConnect(t, c, req)
	want := ConnectResult{Allow: true, User: "u1", Subscribe: []string{"chat.*", "news"}, Publish: []string{"chat.*"}}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("result %+v, want %+v", r, want)
	}
	m := *got.Load()
	for field, value := range map[string]any{
		"type": "connect", "conn": "c1", "node": "n1", "remote_addr": "10.0.0.1:5555",
		"path": "/ws", "query": "channels=news", "user": "token-sub",
		"channels": []any{"news"},
		"headers":  map[string]any{"Cookie": []any{"session=abc"}, "Origin": []any{"https://example.com"}},
	} {
		if !reflect.DeepEqual(m[field], value) {
			t.Errorf("request %q = %#v, want %#v", field, m[field], value)
		}
	}
	if s := c.Stats(); s.ConnectCalls != 1 || s.ConnectDenied != 0 || s.ConnectFailed != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestConnectDenyCarriesStatusAndReason(t *testing.T) {
	long := strings.Repeat("x", 200)
	for _, tc := range []struct {
		name, body string
		status     int
		reason     string
	}{
		{"status and reason", `{"allow":false,"status":401,"reason":"bad session"}`, 401, "bad session"},
		{"no status", `{"allow":false}`, 403, ""},
		{"status out of range", `{"allow":false,"status":302,"reason":"x"}`, 403, "x"},
		{"status not a number", `{"allow":false,"status":"401"}`, 403, ""},
		{"reason not a string", `{"allow":false,"status":429,"reason":5}`, 429, ""},
		{"reason too long", `{"allow":false,"reason":"` + long + `"}`, 403, long[:MaxReasonBytes]},
		{"reason not printable", `{"allow":false,"reason":"a\nb\u00e9c"}`, 403, "a?b?c"},
		{"grants ignored", `{"allow":false,"subscribe":7,"user":[]}`, 403, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// FailOpen: a deny stays a deny even with odd fields.
			c := newClient(t, Config{URL: newBackend(t, answer(200, tc.body)).URL, FailOpen: true})
			r := callConnect(t, c, ConnectRequest{Conn: "c"})
			want := ConnectResult{Status: tc.status, Reason: tc.reason}
			if !reflect.DeepEqual(r, want) {
				t.Fatalf("result %+v, want %+v", r, want)
			}
			if s := c.Stats(); s.ConnectDenied != 1 || s.ConnectFailed != 0 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

func TestConnectFailurePolicy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		wantErr error
	}{
		{"server error", 500, `{"allow":true}`, ErrStatus},
		{"unauthorized", 401, ``, ErrStatus},
		{"redirect not followed", 302, ``, ErrStatus},
		{"not JSON", 200, `<html>`, ErrAnswer},
		{"empty", 200, ``, ErrAnswer},
		{"no allow", 200, `{"user":"u"}`, ErrAnswer},
		{"allow not a boolean", 200, `{"allow":"true"}`, ErrAnswer},
		{"not an object", 200, `[true]`, ErrAnswer},
		{"user not a string", 200, `{"allow":true,"user":5}`, ErrAnswer},
		{"patterns not strings", 200, `{"allow":true,"subscribe":[1]}`, ErrAnswer},
		{"patterns not an array", 200, `{"allow":true,"publish":"chat.*"}`, ErrAnswer},
		{"too many patterns", 200, `{"allow":true,"subscribe":[` + strings.Repeat(`"a",`, MaxPatterns) + `"a"]}`, ErrAnswer},
	} {
		for _, failOpen := range []bool{false, true} {
			name := tc.name + map[bool]string{false: "/fail closed", true: "/fail open"}[failOpen]
			t.Run(name, func(t *testing.T) {
				srv := newBackend(t, func(w http.ResponseWriter, r *http.Request, event string, body []byte) {
					if tc.status == 302 {
						w.Header().Set("Location", "/elsewhere")
					}
					answer(tc.status, tc.body)(w, r, event, body)
				})
				c := newClient(t, Config{URL: srv.URL, FailOpen: failOpen})
				r := callConnect(t, c, ConnectRequest{Conn: "c"})
				if !errors.Is(r.Err, tc.wantErr) {
					t.Fatalf("Err = %v, want %v", r.Err, tc.wantErr)
				}
				want := ConnectResult{Status: 503, Reason: "connect hook unavailable", Err: r.Err}
				if failOpen {
					want = ConnectResult{Allow: true, Err: r.Err}
				}
				if !reflect.DeepEqual(r, want) {
					t.Fatalf("result %+v, want %+v", r, want)
				}
				if s := c.Stats(); s.ConnectFailed != 1 || s.ConnectDenied != 0 {
					t.Errorf("stats %+v", s)
				}
			})
		}
	}
}

func TestConnectTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	c := newClient(t, Config{URL: newBackend(t, hang(t)).URL, ConnectTimeout: timeout})
	start := time.Now()
	r := callConnect(t, c, ConnectRequest{Conn: "c"})
	elapsed := time.Since(start)
	if !errors.Is(r.Err, ErrTimeout) || r.Allow || r.Status != 503 {
		t.Fatalf("result %+v, want a 503 deny with ErrTimeout", r)
	}
	if elapsed < timeout || elapsed > timeout+10*time.Second {
		t.Errorf("done after %s, want about %s", elapsed, timeout)
	}
}

func TestConnectUnreachableBackend(t *testing.T) {
	srv := newBackend(t, answer(200, `{"allow":true}`))
	url := srv.URL
	srv.Close()
	c := newClient(t, Config{URL: url})
	if r := callConnect(t, c, ConnectRequest{Conn: "c"}); !errors.Is(r.Err, ErrTransport) || strings.Contains(r.Err.Error(), url) {
		t.Fatalf("Err = %v, want ErrTransport without the URL", r.Err)
	}
}

func TestConnectAnswerSizeBoundary(t *testing.T) {
	const limit = 1024
	valid := `{"allow":true}`
	for _, tc := range []struct {
		size    int
		wantErr error
	}{
		{limit - 1, nil}, {limit, nil}, {limit + 1, ErrTooLarge}, {10 * limit, ErrTooLarge},
	} {
		body := valid + strings.Repeat(" ", tc.size-len(valid))
		c := newClient(t, Config{URL: newBackend(t, answer(200, body)).URL, MaxResponseBytes: limit})
		r := callConnect(t, c, ConnectRequest{Conn: "c"})
		if !errors.Is(r.Err, tc.wantErr) || (tc.wantErr == nil && !r.Allow) {
			t.Errorf("answer of %d bytes: %+v, want Err %v", tc.size, r, tc.wantErr)
		}
	}
}

func TestConnectBoundsHeaders(t *testing.T) {
	var got atomic.Pointer[ConnectRequest]
	srv := newBackend(t, func(w http.ResponseWriter, r *http.Request, event string, body []byte) {
		var req ConnectRequest
		_ = json.Unmarshal(body, &req)
		got.Store(&req)
		answer(200, `{"allow":true}`)(w, r, event, body)
	})
	c := newClient(t, Config{URL: srv.URL})
	headers := map[string][]string{"Cookie": {strings.Repeat("c", 100<<10)}}
	for i := range 200 {
		headers["X-H"+strings.Repeat("0", i)] = []string{"v"}
	}
	callConnect(t, c, ConnectRequest{Conn: "c", Headers: headers})
	sent := got.Load().Headers
	if len(sent) != MaxHeaderNames {
		t.Errorf("%d header names sent, want %d", len(sent), MaxHeaderNames)
	}
	if _, ok := sent["Cookie"]; ok {
		t.Error("a Cookie larger than MaxHeaderBytes was sent")
	}
	if len(headers) != 201 {
		t.Error("the caller's headers were modified")
	}
}

func TestBusyFollowsFailOpen(t *testing.T) {
	if r := Busy(Config{}); r.Allow || r.Status != 503 || r.Reason != "connect hook unavailable" || !errors.Is(r.Err, ErrBusy) {
		t.Errorf("Busy fail closed: %+v", r)
	}
	if r := Busy(Config{FailOpen: true}); !r.Allow || !errors.Is(r.Err, ErrBusy) {
		t.Errorf("Busy fail open: %+v", r)
	}
}
