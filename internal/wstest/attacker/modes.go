package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/internal/wstest"
	"github.com/wsgate/wsgate/wsproto"
)

// The attack modes, one method of worker each (the package doc lists them).

func (w *worker) slowloris() {
	nc, err := w.dial()
	if err != nil {
		return
	}
	defer nc.Close()
	req := upgradeRequest("/ws")
	req = req[:len(req)-2] // never the blank line
	for i := 0; i < len(req) && time.Now().Before(w.deadline); i++ {
		if _, err := nc.Write([]byte{req[i]}); err != nil {
			break // the server gave up on us
		}
		time.Sleep(*interval)
	}
	w.readStatus(nc) // 408 once the handshake timeout passes
}

func (w *worker) malformed() {
	if w.rng.IntN(4) == 0 { // a broken HTTP request
		nc, err := w.dial()
		if err != nil {
			return
		}
		defer nc.Close()
		bad := []string{
			"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n",
			"POST /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
			"GET /ws HTTP/1.1\r\nHost x\r\n\r\n",
			"\x00\x01\x02garbage\r\n\r\n",
			strings.Replace(upgradeRequest("/ws"), "Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8", 1),
		}
		_, _ = io.WriteString(nc, bad[w.rng.IntN(len(bad))])
		w.readStatus(nc)
		return
	}
	c, ok := w.wsDial("/ws")
	if !ok {
		return
	}
	raw := c.NetConn()
	mask := ws.NewMask()
	var frame []byte
	switch w.rng.IntN(6) {
	case 0: // unmasked client frame (RFC 6455 §5.1: close 1002)
		frame = wsproto.AppendFrame(nil, ws.OpText, true, []byte(`{"type":"subscribe"}`))
	case 1: // reserved opcode
		frame = wsproto.AppendMaskedFrame(nil, ws.OpCode(0x3), true, mask, []byte("x"))
	case 2: // text that is not UTF-8 (1007)
		frame = wsproto.AppendMaskedFrame(nil, ws.OpText, true, mask, []byte{0xff, 0xfe, 0xfd})
	case 3: // random bytes
		frame = make([]byte, 64)
		for i := range frame {
			frame[i] = byte(w.rng.Uint32())
		}
	case 4: // fragmented ping
		frame = wsproto.AppendMaskedFrame(nil, ws.OpPing, false, mask, []byte("x"))
	default: // a run of invalid JSON commands: error frames, then 1008
		for range 20 {
			frame = wsproto.AppendMaskedFrame(frame, ws.OpText, true, ws.NewMask(), []byte(`{"type":`))
		}
	}
	_, _ = raw.Write(frame)
	w.drain(c)
}

func (w *worker) oversize() {
	switch w.rng.IntN(3) {
	case 0: // header block over the limit: 431
		nc, err := w.dial()
		if err != nil {
			return
		}
		defer nc.Close()
		_, _ = io.WriteString(nc, upgradeRequest("/ws", "X-Pad: "+strings.Repeat("a", 16<<10)))
		w.readStatus(nc)
	case 1: // a frame declaring 100 MB: 1009 before any payload is buffered
		c, ok := w.wsDial("/ws")
		if !ok {
			return
		}
		hdr := []byte{0x81, 0x80 | 127, 0, 0, 0, 0, 0x05, 0xf5, 0xe1, 0x00, 1, 2, 3, 4}
		_, _ = c.NetConn().Write(hdr)
		w.drain(c)
	default: // publish data over --max-data-size: too_large, repeated: 1008
		c, ok := w.wsDial("/ws")
		if !ok {
			return
		}
		big := []byte(`{"type":"publish","channel":"` + *channel + `","data":"` + strings.Repeat("z", 70<<10) + `"}`)
		go func() {
			for range 20 {
				if writeText(c, big) != nil {
					return
				}
			}
		}()
		w.drain(c)
	}
}

func (w *worker) flood() {
	c, ok := w.wsDial("/ws")
	if !ok {
		return
	}
	pad := strings.Repeat("f", 4000)
	go func() {
		for i := 0; time.Now().Before(w.deadline); i++ {
			ch := *channel
			if i%10 == 9 {
				ch = "stream" // not allowed by the attacker's token: forbidden
			}
			if writeText(c, []byte(`{"type":"publish","channel":"`+ch+`","data":"`+pad+`"}`)) != nil {
				return
			}
		}
		c.Close()
	}()
	w.drain(c)
}

// writeText writes one masked text frame straight to c's socket, from a
// buffer of its own, so a writer goroutine does not share c's buffer with
// the reader (which answers pings). Each frame goes out in one Write.
func writeText(c *wstest.Conn, p []byte) error {
	_, err := c.NetConn().Write(wsproto.AppendMaskedFrame(nil, ws.OpText, true, ws.NewMask(), p))
	return err
}

func (w *worker) noread() {
	nc, err := w.dial()
	if err != nil {
		return
	}
	defer nc.Close()
	_ = nc.(*net.TCPConn).SetReadBuffer(4096)
	path := "/ws?channels=" + *channel
	if *token != "" {
		path += "&token=" + *token
	}
	if _, err := io.WriteString(nc, upgradeRequest(path)); err != nil {
		return
	}
	// Never read: wait until the server gives up (slow consumer) and
	// closes, which the next write notices, or the deadline.
	for time.Now().Before(w.deadline) {
		time.Sleep(200 * time.Millisecond)
		frame := wsproto.AppendMaskedFrame(nil, ws.OpPong, true, ws.NewMask(), nil)
		if _, err := nc.Write(frame); err != nil {
			w.rep.add(w.rep.Closes, "closed-by-server")
			return
		}
	}
}

func (w *worker) churn() {
	c, ok := w.wsDial("/ws?channels=" + *channel)
	if !ok {
		return
	}
	if w.rng.IntN(2) == 0 {
		time.Sleep(time.Duration(w.rng.IntN(20)) * time.Millisecond)
	}
	c.Close()
}

// fdflood holds -sockets idle connections; whenever the server resets or
// times one out, it opens another in its place, until the deadline.
func (w *worker) fdflood() {
	var wg sync.WaitGroup
	for range *sockets {
		nc, err := w.dial()
		if err != nil {
			w.rep.add(w.rep.Closes, "dial-error")
			continue
		}
		wg.Go(func() {
			var b [512]byte
			_, err := nc.Read(b[:]) // a reset, a 408 and close, or the deadline
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded):
			case err != nil:
				w.rep.add(w.rep.Closes, "reset")
			default:
				w.rep.add(w.rep.Closes, "answered")
			}
			nc.Close()
		})
	}
	wg.Wait()
}

// ackspam subscribes over and over with an id the ack would repeat, as
// fast as the socket takes the frames, and never reads. Even workers use
// a 2.5 KB id (refused: bad_request, which does not repeat it); odd ones
// the longest valid id (64 bytes), whose acks pile up at the server.
func (w *worker) ackspam() {
	nc, err := w.dial()
	if err != nil {
		return
	}
	defer nc.Close()
	_ = nc.(*net.TCPConn).SetReadBuffer(4096)
	path := "/ws"
	if *token != "" {
		path += "?token=" + *token
	}
	if _, err := io.WriteString(nc, upgradeRequest(path)); err != nil {
		return
	}
	id := strings.Repeat("y", 64)
	if w.id%2 == 0 {
		id = strings.Repeat("x", 2500)
	}
	frame := wsproto.AppendMaskedFrame(nil, ws.OpText, true, ws.NewMask(),
		[]byte(`{"type":"subscribe","channel":"`+*channel+`","id":"`+id+`"}`))
	for time.Now().Before(w.deadline) {
		if _, err := nc.Write(frame); err != nil {
			w.rep.add(w.rep.Closes, "closed-by-server")
			return
		}
	}
}

// channels subscribes to fresh channels until the server refuses one.
func (w *worker) channels() {
	c, ok := w.wsDial("/ws")
	if !ok {
		return
	}
	defer c.Close()
	for n := 0; time.Now().Before(w.deadline); n++ {
		name := fmt.Sprintf("%s.%d.%d.%d", *channel, w.id, w.rng.Uint32(), n)
		if err := writeText(c, []byte(`{"type":"subscribe","channel":"`+name+`","id":1}`)); err != nil {
			w.rep.add(w.rep.Closes, "eof")
			return
		}
		_, p, err := c.ReadMessage()
		if err != nil {
			w.rep.add(w.rep.Closes, "eof")
			return
		}
		var m struct{ Type, Code string }
		if json.Unmarshal(p, &m) == nil && m.Type == "error" {
			w.rep.add(w.rep.Errors, m.Code)
			return // full: reconnect (a new connection starts with no subscription)
		}
	}
}
