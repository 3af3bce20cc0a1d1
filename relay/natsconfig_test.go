package relay_test

import (
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/relay"
)

func TestNATSConfigValidate(t *testing.T) {
	for _, cfg := range []relay.NATSConfig{
		{URLs: []string{"nats://a:4222"}},
		{URLs: []string{"a:4222", " nats://b:4222 ", "tls://c:4443"}},
		{URLs: []string{"ws://a:8080", "wss://b"}},
		{URLs: []string{"nats://user:pass@a:4222"}, Prefix: "acme.ws-1"},
		{URLs: []string{"nats://a"}, Prefix: "x.ch", ControlPrefix: "x.chat"}, // a prefix of the string, not of the tokens
		{URLs: []string{"nats://a"}, PublishBuffer: 1, PublishBufferMsgs: 1, InboxSize: 1,
			ReplayDelay: time.Millisecond, CloseGrace: time.Millisecond, WriteTimeout: time.Millisecond, PingInterval: time.Millisecond},
	} {
		if err := cfg.Validate(); err != nil {
			t.Errorf("%+v: %v", cfg, err)
		}
	}

	for _, tc := range []struct {
		cfg  relay.NATSConfig
		want string
	}{
		{relay.NATSConfig{}, "relay: no NATS URL"},
		{relay.NATSConfig{URLs: []string{" "}}, `relay: NATS URL " ": empty`},
		{relay.NATSConfig{URLs: []string{"nats://a,nats://b"}}, `relay: NATS URL "nats://a,nats://b": one URL per entry`},
		{relay.NATSConfig{URLs: []string{"http://a:4222"}}, `relay: NATS URL "http://a:4222": scheme "http": want nats, tls, ws or wss`},
		{relay.NATSConfig{URLs: []string{"nats://a:4222/%zz"}}, `relay: NATS URL "nats://a:4222/%zz": parse`},
		{relay.NATSConfig{URLs: []string{"nats://a", "ws://b"}}, `relay: NATS URLs "nats://a" and "ws://b": websocket (ws, wss) and plain (nats, tls) URLs cannot be mixed`},
		{relay.NATSConfig{URLs: []string{"nats://a"}, Prefix: "a..b"}, `relay: subject prefix "a..b": an empty token`},
		{relay.NATSConfig{URLs: []string{"nats://a"}, Prefix: ".a"}, `an empty token`},
		{relay.NATSConfig{URLs: []string{"nats://a"}, Prefix: "a."}, `an empty token`},
		{relay.NATSConfig{URLs: []string{"nats://a"}, Prefix: "a b"}, `relay: subject prefix "a b": whitespace`},
		{relay.NATSConfig{URLs: []string{"nats://a"}, Prefix: "a.*"}, `relay: subject prefix "a.*": a wildcard (* or >)`},
		{relay.NATSConfig{URLs: []string{"nats://a"}, Prefix: "a.>"}, `a wildcard`},
		{relay.NATSConfig{URLs: []string{"nats://a"}, PublishBuffer: -1}, "relay: publish buffer must not be negative, got -1"},
		{relay.NATSConfig{URLs: []string{"nats://a"}, PublishBufferMsgs: -1}, "relay: publish buffer messages must not be negative"},
		{relay.NATSConfig{URLs: []string{"nats://a"}, InboxSize: -1}, "relay: inbox size must not be negative"},
		{relay.NATSConfig{URLs: []string{"nats://a"}, ReplayDelay: -time.Second}, "relay: replay delay must not be negative, got -1s"},
		{relay.NATSConfig{URLs: []string{"nats://a"}, CloseGrace: -1}, "relay: close grace must not be negative"},
		{relay.NATSConfig{URLs: []string{"nats://a"}, WriteTimeout: -1}, "relay: write timeout must not be negative"},
		{relay.NATSConfig{URLs: []string{"nats://a"}, PingInterval: -1}, "relay: ping interval must not be negative"},
		{relay.NATSConfig{URLs: []string{"nats://a"}, ControlPrefix: "a.*"}, `relay: control subject prefix "a.*": a wildcard`},
		{relay.NATSConfig{URLs: []string{"nats://a"}, ControlPrefix: "wsgate.ch"}, `overlaps the channel prefix "wsgate.ch"`},
		{relay.NATSConfig{URLs: []string{"nats://a"}, Prefix: "x", ControlPrefix: "x.ctl"}, `relay: control subject prefix "x.ctl" overlaps the channel prefix "x": a channel could name a control subject`},
		{relay.NATSConfig{URLs: []string{"nats://a"}, Prefix: "x.ch.y", ControlPrefix: "x.ch"}, `overlaps`},
		{relay.NATSConfig{URLs: []string{"nats://a"}, ControlHeartbeat: -1}, "relay: control heartbeat must not be negative"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// TestNATSConfigValidateReportsEveryProblem: one call names every problem,
// in the order of the fields, the same every time; DialNATS refuses the
// configuration with that error before touching the network.
func TestNATSConfigValidateReportsEveryProblem(t *testing.T) {
	cfg := relay.NATSConfig{
		URLs: []string{"http://a", ""}, Prefix: "a b", PublishBuffer: -1, PublishBufferMsgs: -2,
		ReplayDelay: -1, CloseGrace: -1, WriteTimeout: -1, PingInterval: -1, InboxSize: -1,
	}
	want := []string{
		`NATS URL "http://a"`, `NATS URL ""`, "subject prefix", "publish buffer must", "publish buffer messages",
		"replay delay", "close grace", "write timeout", "ping interval", "inbox size",
	}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate succeeded")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d problems, want %d:\n%v", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("problem %d is %q, want it about %s", i, lines[i], w)
		}
	}
	for range 10 {
		if again := cfg.Validate(); again.Error() != err.Error() {
			t.Fatalf("Validate reported\n%v\nthen\n%v", err, again)
		}
	}
	if r, dialErr := relay.DialNATS(cfg); dialErr == nil || dialErr.Error() != err.Error() {
		if r != nil {
			r.Close()
		}
		t.Errorf("DialNATS: %v, want Validate's error", dialErr)
	}
}

func TestNATSConfigWithDefaults(t *testing.T) {
	got := relay.NATSConfig{URLs: []string{"nats://a"}}.WithDefaults()
	want := relay.NATSConfig{
		URLs:              []string{"nats://a"},
		Prefix:            "wsgate.ch",
		PublishBuffer:     8 << 20,
		PublishBufferMsgs: 65536,
		InboxSize:         65536,
		ReplayDelay:       2 * time.Second,
		CloseGrace:        2 * time.Second,
		WriteTimeout:      5 * time.Second,
		PingInterval:      20 * time.Second,
		Logger:            slog.Default(),
		History:           relay.HistoryConfig{MaxBytes: 256 << 20, Replicas: 1, DedupWindow: 2 * time.Minute},
		Stream:            "WSGATE_HISTORY",
		HistorySubject:    "wsgate.hist",
		LiveSubject:       "wsgate.live",
		ControlPrefix:     "wsgate.ctl",
		ControlHeartbeat:  time.Second,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("WithDefaults:\n got %+v\nwant %+v", got, want)
	}
	set := relay.NATSConfig{
		URLs: []string{"nats://a"}, Prefix: "p", PublishBuffer: 1, PublishBufferMsgs: 2, InboxSize: 3,
		ReplayDelay: 4, CloseGrace: 5, WriteTimeout: 6, PingInterval: 7, Logger: slog.New(slog.DiscardHandler),
		History: relay.HistoryConfig{Size: 8, TTL: 9, MaxBytes: 10, Replicas: 3, DedupWindow: 11},
		Stream:  "S", HistorySubject: "h.s", LiveSubject: "l.s",
		ControlPrefix: "c", ControlHeartbeat: 12,
	}
	if got := set.WithDefaults(); !reflect.DeepEqual(got, set) {
		t.Errorf("WithDefaults changed set fields:\n got %+v\nwant %+v", got, set)
	}
}

// TestEmbeddedConfigValidateReportsEveryProblem: every problem at once,
// the open listener still recognisable as ErrEmbeddedOpen among them.
func TestEmbeddedConfigValidateReportsEveryProblem(t *testing.T) {
	cfg := relay.EmbeddedConfig{Listen: "0.0.0.0:0", Monitor: "8222", Password: "p", TLSKey: "k.pem", MaxConns: -1}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate succeeded")
	}
	want := []string{"monitor address", "a user needs a password", "TLS needs both", "max conns must not be negative", "beyond loopback"}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d problems, want %d:\n%v", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("problem %d is %q, want it about %s", i, lines[i], w)
		}
	}
	if !errors.Is(err, relay.ErrEmbeddedOpen) {
		t.Errorf("errors.Is(%v, ErrEmbeddedOpen) = false", err)
	}
	if err := (relay.EmbeddedConfig{Listen: "127.0.0.1:0"}).Validate(); err != nil {
		t.Errorf("loopback without authentication: %v", err)
	}
}
