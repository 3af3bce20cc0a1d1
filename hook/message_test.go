package hook

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"sync/atomic"
	"testing"
)

func callMessage(t *testing.T, c *Client, req MessageRequest) MessageResult {
	t.Helper()
	ch := make(chan MessageResult, 1)
	if !c.Message(req, func(r MessageResult) { ch <- r }) {
		t.Fatal("Message found no slot")
	}
	return await(t, ch, "message result")
}

func TestMessageAnswers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		reply   json.RawMessage
		wantErr error
	}{
		{"empty 200", 200, ``, nil, nil},
		{"204", 204, ``, nil, nil},
		{"whitespace", 200, " \r\n", nil, nil},
		{"reply", 200, `{"reply":{"type":"ack","n":1}}`, json.RawMessage(`{"type":"ack","n":1}`), nil},
		{"reply null", 200, `{"reply":null}`, nil, nil},
		{"no reply", 200, `{"other":1}`, nil, nil},
		{"not an object", 200, `[1]`, nil, ErrAnswer},
		{"not JSON", 200, `ok`, nil, ErrAnswer},
		{"server error", 502, ``, nil, ErrStatus},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, Config{URL: newBackend(t, answer(tc.status, tc.body)).URL})
			r := callMessage(t, c, MessageRequest{Conn: "c", Data: json.RawMessage(`{"q":1}`)})
			if !errors.Is(r.Err, tc.wantErr) || !reflect.DeepEqual(r.Reply, tc.reply) {
				t.Fatalf("result %+v (reply %s), want reply %s and Err %v", r, r.Reply, tc.reply, tc.wantErr)
			}
			failed := int64(0)
			if tc.wantErr != nil {
				failed = 1
			}
			if s := c.Stats(); s.MessageCalls != 1 || s.MessageFailed != failed {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

func TestMessageSendsRequest(t *testing.T) {
	var got atomic.Pointer[map[string]any]
	srv := newBackend(t, func(w http.ResponseWriter, r *http.Request, event string, body []byte) {
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		got.Store(&m)
		w.WriteHeader(http.StatusNoContent)
	})
	c := newClient(t, Config{URL: srv.URL})
	callMessage(t, c, MessageRequest{Conn: "c1", User: "u1", Node: "n1", Data: json.RawMessage(`[1,"two"]`)})
	want := map[string]any{"type": "message", "conn": "c1", "user": "u1", "node": "n1", "data": []any{1.0, "two"}}
	if m := *got.Load(); !reflect.DeepEqual(m, want) {
		t.Errorf("request %v, want %v", m, want)
	}
}
