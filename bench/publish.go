package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/wsproto"
)

// sender delivers one publication to the server.
type sender interface {
	// send publishes data (a JSON value) on channel. definite reports that
	// the server certainly did not take the message, so its sequence number
	// may be reused.
	send(ctx context.Context, channel string, data []byte) (definite bool, err error)
	close() error
}

// httpSender POSTs to the admin API: to one node, or to every node when
// the nodes share no bus (PublishAll).
type httpSender struct {
	client *http.Client
	urls   []string    // .../api/publish
	header http.Header // Config.PublishHeaders, on every request
	body   []byte
}

func newHTTPSender(bases []string, header http.Header) *httpSender {
	s := &httpSender{header: header, client: &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true},
	}}
	for _, b := range bases {
		s.urls = append(s.urls, strings.TrimRight(b, "/")+"/api/publish")
	}
	return s
}

func (s *httpSender) send(ctx context.Context, channel string, data []byte) (bool, error) {
	s.body = append(s.body[:0], `{"channel":"`...)
	s.body = append(s.body, channel...)
	s.body = append(s.body, `","data":`...)
	s.body = append(s.body, data...)
	s.body = append(s.body, '}')
	var errs []error
	refused := 0
	for _, u := range s.urls {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(s.body))
		if err != nil {
			return true, err
		}
		for k, v := range s.header {
			req.Header[k] = v
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.client.Do(req)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			refused++
			errs = append(errs, fmt.Errorf("publish_http_%d", resp.StatusCode))
		}
	}
	return refused == len(s.urls), errors.Join(errs...)
}

func (s *httpSender) close() error {
	s.client.CloseIdleConnections()
	return nil
}

// wsSender publishes with {"type":"publish"} frames on one WebSocket
// connection. A goroutine reads what the server sends (pings, errors):
// this is one connection per publisher, not the mass of subscribers.
//
// It is not package client on purpose: client.Publish waits for each
// publication's ack and sends it again after a reconnection, which paces
// a publisher by its own round trips and hides a refused publication
// behind retries. A load generator sends without waiting, counts the
// error frames, and reports a broken connection as the failure it is.
type wsSender struct {
	nc     net.Conn
	mu     sync.Mutex // serialises writes: the reader answers pings
	buf    []byte
	frame  []byte
	errors int64
	done   chan struct{}
}

// dialWSSender connects publisher i to t's /ws, through TLS, with a PROXY
// header, the extra headers and subprotocols, and offering
// permessage-deflate as cfg says: the handshake the subscribers make. With
// cfg.Deflate a server that declines fails the publisher: the run would not
// measure what it says. Its own frames go uncompressed (RFC 7692 §6 allows
// it).
func dialWSSender(ctx context.Context, cfg Config, t Target, i int) (*wsSender, error) {
	timeout := cfg.ConnectTimeout
	nc, err := cfg.dialStream(ctx, t, publisherProxyID(i))
	if err != nil {
		return nil, err
	}
	key := wsproto.NewKey()
	t.Path = "/ws"
	if _, err := nc.Write(appendUpgrade(nil, &t, "", -1, &key, handshakeLines(cfg.Headers, cfg.Subprotocols, cfg.Deflate))); err != nil {
		nc.Close()
		return nil, err
	}
	_ = nc.SetReadDeadline(time.Now().Add(timeout))
	br := bufio.NewReader(nc)
	var resp []byte
	deflate := false
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("bench: publisher handshake: %w", err)
		}
		resp = append(resp, line...)
		n, accepted, err := parseUpgradeResponse(resp, &key, cfg.Deflate, cfg.Subprotocols)
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("bench: publisher handshake: %w", err)
		}
		if n > 0 {
			deflate = accepted
			break
		}
	}
	if cfg.Deflate && !deflate {
		nc.Close()
		return nil, fmt.Errorf("bench: publisher handshake: %s: the server accepted no permessage-deflate", kindDeflateDeclined)
	}
	_ = nc.SetReadDeadline(time.Time{})
	s := &wsSender{nc: nc, done: make(chan struct{})}
	go s.read(br, deflate)
	return s, nil
}

// read discards the server's frames, answering pings and counting errors;
// with deflate, compressed ones are inflated first.
func (s *wsSender) read(r io.Reader, deflate bool) {
	defer close(s.done)
	dec := wsproto.NewDecoder(wsproto.ClientSide, nil)
	dec.SetDeflate(deflate)
	buf := make([]byte, 16<<10)
	for {
		n, err := r.Read(buf)
		if err != nil {
			return
		}
		in := buf[:n]
		for len(in) > 0 {
			m, k, err := dec.Next(in)
			in = in[k:]
			if err != nil {
				return
			}
			switch m.Op {
			case ws.OpPing:
				s.write(ws.OpPong, m.Payload)
			case ws.OpText:
				if bytes.Contains(m.Payload, []byte(`"type":"error"`)) {
					s.mu.Lock()
					s.errors++
					s.mu.Unlock()
				}
			case ws.OpClose:
				return
			}
		}
	}
}

func (s *wsSender) write(op ws.OpCode, payload []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	s.frame = wsproto.AppendMaskedFrame(s.frame[:0], op, true, mask, payload)
	_ = s.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := s.nc.Write(s.frame)
	return err
}

func (s *wsSender) send(_ context.Context, channel string, data []byte) (bool, error) {
	s.buf = append(s.buf[:0], `{"type":"publish","channel":"`...)
	s.buf = append(s.buf, channel...)
	s.buf = append(s.buf, `","data":`...)
	s.buf = append(s.buf, data...)
	s.buf = append(s.buf, '}')
	return false, s.write(ws.OpText, s.buf)
}

func (s *wsSender) close() error {
	_ = s.write(ws.OpClose, []byte{0x03, 0xe8})
	select {
	case <-s.done:
	case <-time.After(2 * time.Second):
	}
	return s.nc.Close()
}

// publisher sends stamped messages to the channels in turn, numbering them
// per channel, at a fixed rate or, at max rate, as fast as gate allows.
type publisher struct {
	id       uint32
	snd      sender
	channels int
	prefix   string
	payload  int
	kind     string                     // PayloadFiller or PayloadJSON
	rate     float64                    // messages per second; 0: max rate
	gate     func(context.Context) bool // max rate: wait until the window has room; false: stop

	onSent func(ch int) // called after each message the server took
	last   []uint32     // per channel: the last sequence number the server took
	sent   int64
	errors map[string]int64
}

// run publishes until ctx ends.
func (p *publisher) run(ctx context.Context) {
	p.last = make([]uint32, p.channels)
	p.errors = make(map[string]int64)
	var data []byte
	var name []byte
	start := time.Now()
	for k := 0; ; k++ {
		var intended time.Time
		if p.rate > 0 {
			intended = start.Add(time.Duration(float64(k) / p.rate * float64(time.Second)))
			if wait := time.Until(intended); wait > 0 {
				select {
				case <-time.After(wait):
				case <-ctx.Done():
					return
				}
			}
		} else {
			if !p.gate(ctx) {
				return
			}
			intended = time.Now() // max rate: due when the window opens
		}
		if ctx.Err() != nil {
			return
		}
		ch := k % p.channels
		now := time.Now()
		st := Stamp{Publisher: p.id, Seq: p.last[ch] + 1, Intended: intended.UnixNano(), Delay: now.Sub(intended).Nanoseconds()}
		data = appendPayloadKind(data[:0], p.kind, st, p.payload)
		name = strconv.AppendInt(append(name[:0], p.prefix...), int64(ch), 10)
		// The send itself is not cancelled with ctx: a message the server may
		// have taken must be counted. The sender's own timeout bounds it.
		definite, err := p.snd.send(context.WithoutCancel(ctx), string(name), data)
		if err != nil {
			p.errors[publishErrorKind(err)]++
			if definite {
				continue
			}
		}
		p.last[ch]++
		p.sent++
		p.onSent(ch)
	}
}

func publishErrorKind(err error) string {
	if s := err.Error(); strings.HasPrefix(s, "publish_http_") {
		return strings.SplitN(s, "\n", 2)[0]
	}
	return "publish_error"
}
