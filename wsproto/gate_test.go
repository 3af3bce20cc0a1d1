package wsproto

import (
	"bytes"
	"testing"

	"github.com/gobwas/ws"
)

// decodeGated is decodeFeed with SetGate on: at each data message's start
// it asks skip (by the message's index among all starts) whether to drop
// it, and it counts the starts.
func decodeGated(d *Decoder, data []byte, f feed, skip func(int) bool) (res decoded, begins int) {
	buf := bytes.Clone(data)
	for off := 0; off < len(buf); {
		in := buf[off : off+f.chunk(len(buf)-off)]
		for {
			d.SetGate(true)
			m, n, err := d.Next(in)
			off += n
			in = in[n:]
			if err != nil {
				res.err, res.errAt = err, off
				return res, begins
			}
			if op := d.Starting(); op != 0 {
				if m.Op != ws.OpContinuation || m.Payload != nil || !op.IsData() {
					panic("a start with a message, or of a control frame")
				}
				if skip(begins) {
					d.Skip()
				}
				begins++
				continue
			}
			if m.Op == ws.OpContinuation { // nothing complete: in is used up
				break
			}
			res.msgs = append(res.msgs, Message{Op: m.Op, Payload: bytes.Clone(m.Payload)})
		}
	}
	return res, begins
}

// With SetGate on, every data message is announced before its payload is
// read, and a skipped one is read past without being kept, checked as
// UTF-8 or inflated: only its frames' headers and sizes are checked.
// Control frames inside it still come out. Every feed splits the stream
// differently, down to a byte at a time.
func TestDecoderGate(t *testing.T) {
	t.Parallel()
	corrupt := []byte{0xff, 0xff, 0xff, 0xff}
	zFast := stdDeflate(t, json1K, 1)
	skipOnly := func(ks ...int) func(int) bool {
		return func(i int) bool { return bytes.IndexByte(bytesOf(ks), byte(i)) >= 0 }
	}
	for i, tc := range []struct {
		name    string
		input   []byte
		skip    func(int) bool
		limits  *Limits
		want    []Message
		begins  int
		wantErr error
	}{
		{name: "skip the fragmented one", input: concat(clientFrame(ws.OpText, true, "a"),
			clientFrame(ws.OpBinary, false, "b"), clientFrame(ws.OpPing, true, "p"), clientFrame(ws.OpContinuation, true, "c"),
			clientFrame(ws.OpText, true, "d")),
			skip: skipOnly(1), want: []Message{msg(ws.OpText, "a"), msg(ws.OpPing, "p"), msg(ws.OpText, "d")}, begins: 3},
		{name: "take them all", input: concat(clientFrame(ws.OpBinary, false, "b"), clientFrame(ws.OpContinuation, true, "c")),
			skip: skipOnly(), want: []Message{msg(ws.OpBinary, "bc")}, begins: 1},
		{name: "skipped invalid UTF-8 is not checked", input: concat(clientFrame(ws.OpText, true, "\xff"), clientFrame(ws.OpText, true, "ok")),
			skip: skipOnly(0), want: []Message{msg(ws.OpText, "ok")}, begins: 2},
		{name: "taken invalid UTF-8 still fails", input: clientFrame(ws.OpText, true, "\xff"),
			skip: skipOnly(), begins: 1, wantErr: ErrInvalidUTF8},
		{name: "skipped corrupt compression is not inflated", input: concat(deflatedFrames(ws.OpBinary, corrupt), deflatedFrames(ws.OpText, zFast)),
			skip: skipOnly(0), want: []Message{{Op: ws.OpText, Payload: json1K}}, begins: 2},
		{name: "empty messages", input: concat(clientFrame(ws.OpText, true, ""), clientFrame(ws.OpBinary, true, ""), clientFrame(ws.OpText, true, "x")),
			skip: skipOnly(1), want: []Message{msg(ws.OpText, ""), msg(ws.OpText, "x")}, begins: 3},
		{name: "a skipped message is still bounded", limits: &Limits{MaxMessageSize: 10},
			input: concat(clientFrame(ws.OpBinary, false, "12345678"), clientFrame(ws.OpContinuation, true, "12345678")),
			skip:  skipOnly(0), begins: 1, wantErr: ErrMessageTooBig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, f := range feedsFor(uint64(i) + 300) {
				d := NewDecoder(ServerSide, tc.limits)
				d.SetDeflate(true)
				got, begins := decodeGated(d, tc.input, f, tc.skip)
				d.Reset()
				if s := got.diff(tc.want, tc.wantErr); s != "" {
					t.Errorf("feed %s: %s", f.name, s)
				}
				if begins != tc.begins {
					t.Errorf("feed %s: %d starts, want %d", f.name, begins, tc.begins)
				}
			}
		})
	}
}

func bytesOf(ks []int) []byte {
	b := make([]byte, len(ks))
	for i, k := range ks {
		b[i] = byte(k)
	}
	return b
}

// Held counts what a message in progress keeps; a skipped one keeps none.
func TestDecoderHeld(t *testing.T) {
	t.Parallel()
	part := clientFrame(ws.OpBinary, false, string(make([]byte, 4000)))
	for _, skip := range []bool{false, true} {
		d := NewDecoder(ServerSide, nil)
		d.SetGate(true)
		m, n, err := d.Next(bytes.Clone(part))
		if err != nil || d.Starting() != ws.OpBinary {
			t.Fatalf("got %+v, %v, starting %v, want the start", m, err, d.Starting())
		}
		if skip {
			d.Skip()
		}
		if _, _, err := d.Next(bytes.Clone(part[n:])); err != nil {
			t.Fatal(err)
		}
		switch held := d.Held(); {
		case skip && held != 0:
			t.Errorf("skipped: holds %d bytes", held)
		case !skip && held < 4000:
			t.Errorf("taken: holds %d bytes, want at least the 4000 read", held)
		}
		if d.Idle() {
			t.Errorf("skip %v: idle inside a message", skip)
		}
		d.Reset()
	}
}
