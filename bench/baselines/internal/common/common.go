// Package common is what the baseline servers share: flags, the publish
// API and the message envelope.
package common

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Flags are the options every baseline takes.
type Flags struct {
	Listen      string
	AdminListen string
}

// ParseFlags reads --listen and --admin-listen, and the flags extra
// defines (a baseline's own options).
func ParseFlags(name string, extra ...func(*flag.FlagSet)) Flags {
	var f Flags
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	fs.StringVar(&f.Listen, "listen", "127.0.0.1:8080", "`address` for WebSocket clients (/ws, /echo)")
	fs.StringVar(&f.AdminListen, "admin-listen", "127.0.0.1:8081", "`address` for POST /api/publish")
	for _, e := range extra {
		e(fs)
	}
	_ = fs.Parse(os.Args[1:])
	return f
}

// Channels reads ?channels=a,b (the parameter may repeat).
func Channels(rawQuery string) []string {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil
	}
	var out []string
	for _, v := range q["channels"] {
		for _, ch := range strings.Split(v, ",") {
			if ch != "" {
				out = append(out, ch)
			}
		}
	}
	return out
}

// Envelope is the message subscribers get, the same bytes wsgate sends.
func Envelope(channel string, data []byte) []byte {
	b := make([]byte, 0, 40+len(channel)+len(data))
	b = append(b, `{"type":"message","channel":`...)
	b = strconv.AppendQuote(b, channel)
	b = append(b, `,"data":`...)
	b = append(b, data...)
	return append(b, '}')
}

// Publisher delivers one envelope to the subscribers of channel and
// reports how many it was queued for.
type Publisher func(channel string, envelope []byte) int

// ServeAdmin serves POST /api/publish on addr in the background.
func ServeAdmin(addr string, publish Publisher) {
	var seq atomic.Uint64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/publish", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		var req struct {
			Channel string          `json:"channel"`
			Data    json.RawMessage `json:"data"`
		}
		if err != nil || json.Unmarshal(body, &req) != nil || req.Channel == "" || len(req.Data) == 0 {
			http.Error(w, `{"error":"bad_request"}`, http.StatusBadRequest)
			return
		}
		n := publish(req.Channel, Envelope(req.Channel, req.Data))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"%d","queued":%d}`+"\n", seq.Add(1), n)
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil {
			log.Fatalf("admin: %v", err)
		}
	}()
}

// WaitSignal blocks until SIGINT or SIGTERM.
func WaitSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	<-ch
}
