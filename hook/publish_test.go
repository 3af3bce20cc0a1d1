package hook

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"sync/atomic"
	"testing"
)

// callPublish makes one Publish call, which must get a slot, and returns
// its result.
func callPublish(t *testing.T, c *Client, req PublishRequest) PublishResult {
	t.Helper()
	ch := make(chan PublishResult, 1)
	if !c.Publish(req, func(r PublishResult) { ch <- r }) {
		t.Fatal("Publish found no slot")
	}
	return await(t, ch, "publish result")
}

func TestPublishAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       PublishResult
		wantErr    error
	}{
		{"allow", `{"allow":true}`, PublishResult{Allow: true}, nil},
		{"allow with null data", `{"allow":true,"data":null}`, PublishResult{Allow: true}, nil},
		{"rewrite", `{"allow":true,"data":{"text":"[redacted]","n":[1,2]}}`, PublishResult{Allow: true, Data: json.RawMessage(`{"text":"[redacted]","n":[1,2]}`)}, nil},
		{"rewrite to a string", `{"allow":true,"data":"plain"}`, PublishResult{Allow: true, Data: json.RawMessage(`"plain"`)}, nil},
		{"deny", `{"allow":false,"reason":"spam"}`, PublishResult{Reason: "spam"}, nil},
		{"deny without reason", `{"allow":false}`, PublishResult{}, nil},
		{"invalid rewrite", `{"allow":true,"data":{text}}`, PublishResult{Reason: "publish hook unavailable"}, ErrAnswer},
		{"no allow", `{"data":1}`, PublishResult{Reason: "publish hook unavailable"}, ErrAnswer},
		{"empty", ``, PublishResult{Reason: "publish hook unavailable"}, ErrAnswer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, Config{URL: newBackend(t, answer(200, tc.body)).URL})
			r := callPublish(t, c, PublishRequest{Conn: "c", Channel: "chat", Data: json.RawMessage(`{"text":"hi"}`)})
			if !errors.Is(r.Err, tc.wantErr) {
				t.Fatalf("Err = %v, want %v", r.Err, tc.wantErr)
			}
			tc.want.Err = r.Err
			if !reflect.DeepEqual(r, tc.want) {
				t.Fatalf("result %+v, want %+v", r, tc.want)
			}
			if r.Data != nil && !json.Valid(r.Data) {
				t.Errorf("rewrite %s is not JSON", r.Data)
			}
		})
	}
}

func TestPublishSendsRequest(t *testing.T) {
	var got atomic.Pointer[map[string]any]
	srv := newBackend(t, func(w http.ResponseWriter, r *http.Request, event string, body []byte) {
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		got.Store(&m)
		answer(200, `{"allow":true}`)(w, r, event, body)
	})
	c := newClient(t, Config{URL: srv.URL})
	data := []byte(`{"text":"hi"}`)
	ch := make(chan PublishResult, 1)
	if !c.Publish(PublishRequest{Conn: "c1", User: "u1", Node: "n1", Channel: "chat", Data: data}, func(r PublishResult) { ch <- r }) {
		t.Fatal("Publish found no slot")
	}
	copy(data, "XXXXXXXXXXXXX") // the caller reuses its buffer at once
	await(t, ch, "publish result")
	want := map[string]any{"type": "publish", "conn": "c1", "user": "u1", "node": "n1", "channel": "chat", "data": map[string]any{"text": "hi"}}
	if m := *got.Load(); !reflect.DeepEqual(m, want) {
		t.Errorf("request %v, want %v", m, want)
	}
	if s := c.Stats(); s.PublishCalls != 1 || s.PublishDenied != 0 || s.PublishFailed != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestPublishFailureDenies(t *testing.T) {
	c := newClient(t, Config{URL: newBackend(t, answer(500, "")).URL, FailOpen: true})
	r := callPublish(t, c, PublishRequest{Conn: "c", Channel: "chat", Data: json.RawMessage(`1`)})
	if r.Allow || !errors.Is(r.Err, ErrStatus) || r.Reason != "publish hook unavailable" {
		t.Errorf("result %+v, want a deny with ErrStatus even under FailOpen", r)
	}
	// Data that is not JSON is never sent.
	r = callPublish(t, c, PublishRequest{Conn: "c", Channel: "chat", Data: json.RawMessage(`{bad`)})
	if r.Allow || !errors.Is(r.Err, ErrRequest) {
		t.Errorf("result %+v, want a deny with ErrRequest", r)
	}
	if s := c.Stats(); s.PublishFailed != 2 || s.PublishDenied != 0 {
		t.Errorf("stats %+v", s)
	}
}
