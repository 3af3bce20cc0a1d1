// Command subscribers is a test process for wsgate's multi-process tests: it
// opens N subscribed connections (round-robin over -url), prints "READY"
// once all are upgraded, then reads until every connection has received
// -expect messages or -timeout passes, checking per-publisher order, and
// prints one JSON summary line. It exits 0 only if every connection got every
// message exactly once and in order.
//
// Published data must be JSON strings "PUBLISHER:SEQ" with SEQ counting
// from 0 per publisher, e.g. "A:0", "A:1", "B:0", optionally followed by
// ":padding".
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsgate/wsgate/internal/wstest"
)

type urls []string

func (u *urls) String() string     { return strings.Join(*u, ",") }
func (u *urls) Set(v string) error { *u = append(*u, v); return nil }

// summary is the line printed at the end.
type summary struct {
	Conns      int    `json:"conns"`
	Connected  int64  `json:"connected"`
	Messages   int64  `json:"messages"`
	Complete   int64  `json:"complete"`     // connections that got all -expect messages
	OutOfOrder int64  `json:"out_of_order"` // duplicates, gaps and reorderings
	Errors     int64  `json:"errors"`
	FirstError string `json:"first_error,omitempty"`
}

func main() {
	var (
		targets urls
		n       = flag.Int("n", 100, "connections")
		expect  = flag.Int("expect", 1, "messages each connection must receive")
		timeout = flag.Duration("timeout", 60*time.Second, "give up after this long")
	)
	flag.Var(&targets, "url", "ws:// URL with ?channels=; repeat for round-robin")
	flag.Parse()
	if len(targets) == 0 {
		fmt.Fprintln(os.Stderr, "subscribers: -url is required")
		os.Exit(2)
	}
	var s summary
	s.Conns = *n
	var firstErr sync.Once
	fail := func(err error) {
		atomic.AddInt64(&s.Errors, 1)
		firstErr.Do(func() { s.FirstError = err.Error() })
	}
	conns := make([]*wstest.Conn, *n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64) // dial at most 64 at a time
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := wstest.Dial(targets[i%len(targets)], 10*time.Second)
			if err != nil {
				fail(err)
				return
			}
			conns[i] = c
			atomic.AddInt64(&s.Connected, 1)
		}()
	}
	wg.Wait()
	fmt.Println("READY", s.Connected)
	deadline := time.Now().Add(*timeout)
	for _, c := range conns {
		if c == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			_ = c.SetReadDeadline(deadline)
			next := map[string]int{}
			for got := 0; got < *expect; got++ {
				_, p, err := c.ReadMessage()
				if err != nil {
					fail(err)
					return
				}
				atomic.AddInt64(&s.Messages, 1)
				pub, seq, ok := parseData(p)
				if !ok || seq != next[pub] {
					atomic.AddInt64(&s.OutOfOrder, 1)
				}
				next[pub] = seq + 1
			}
			atomic.AddInt64(&s.Complete, 1)
		}()
	}
	wg.Wait()
	out, _ := json.Marshal(&s)
	fmt.Println(string(out))
	if s.Complete != int64(*n) || s.OutOfOrder != 0 || s.Errors != 0 {
		os.Exit(1)
	}
}

// parseData extracts PUBLISHER and SEQ from {"type":"message",...,"data":"P:S"}.
func parseData(msg []byte) (string, int, bool) {
	i := bytes.Index(msg, []byte(`"data":"`))
	if i < 0 {
		return "", 0, false
	}
	rest := msg[i+len(`"data":"`):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return "", 0, false
	}
	pub, seq, ok := strings.Cut(string(rest[:end]), ":")
	if !ok {
		return "", 0, false
	}
	seq, _, _ = strings.Cut(seq, ":")
	n, err := strconv.Atoi(seq)
	return pub, n, err == nil
}
