package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/relay"
)

// env is a lookupEnv over a fixed set of variables.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// writeConfig writes a TOML file into the test's directory.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wsgate.toml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func parse(t *testing.T, args []string, vars map[string]string) (reactor.Config, options, error) {
	t.Helper()
	var stderr bytes.Buffer
	return parseConfig(args, env(vars), &stderr)
}

// TestParseConfigDefaults: with no setting at all, the command configures
// exactly what the packages' zero Configs mean, and those are the defaults
// docs/security.md ("Every bound") and README document. It reads none of
// the constants the flags use, so a flag default typed as a literal, a
// constant mixed up, or a default changed without the docs fails here.
func TestParseConfigDefaults(t *testing.T) {
	cfg, opts, err := parse(t, nil, nil)
	if err != nil {
		t.Fatalf("parseConfig: %v", err)
	}
	// The engine applies the reactor's defaults (withDefaults) to both.
	eng, err := reactor.New(cfg)
	if err != nil {
		t.Fatalf("the defaults do not validate: %v", err)
	}
	zero, err := reactor.New(reactor.Config{})
	if err != nil {
		t.Fatal(err)
	}
	got, lib := eng.Config(), zero.Config()
	got.Relay, lib.Relay = nil, nil // two in-process relays, alike but distinct
	for _, d := range fieldDiffs(got, lib) {
		t.Errorf("with no flag, reactor.Config.%s (what reactor.Config{} means)", d)
	}
	nats := opts.nats.NATSConfig.WithDefaults()
	for _, d := range fieldDiffs(nats, relay.NATSConfig{}.WithDefaults()) {
		t.Errorf("with no flag, relay.NATSConfig.%s (what relay.NATSConfig{} means)", d)
	}

	for _, c := range []struct {
		doc       string // as documented
		got, want any
	}{
		{"request header block: 8 KiB", got.Limits.MaxHeaderBytes, 8 << 10},
		{"time to send the whole request: 10 s", got.HandshakeTimeout, 10 * time.Second},
		{"WebSocket connections per node: 1,000,000", got.MaxConns, 1_000_000},
		{"WebSocket connections per address: off", got.MaxConnsPerIP, 0},
		{"connection attempts per second per address: off", got.HandshakeRatePerIP, 0.0},
		{"IPv6 grouping of every per-address limit: /64", got.IPv6Prefix, 64},
		{"Host header: any", got.AllowedHosts, []string(nil)},
		{"subscriptions per connection: 128", got.MaxSubscriptions, 128},
		{"frame payload: 1 MiB", got.Limits.MaxFrameSize, int64(1 << 20)},
		{"message: 1 MiB", got.Limits.MaxMessageSize, int64(1 << 20)},
		{"messages per second: 100/s", got.MessageRate, 100},
		{"messages per second: burst 200", got.MessageBurst, 200},
		{"bytes per second: 256 KiB/s", got.ByteRate, 256 << 10},
		{"publish data: 64 KiB", got.MaxDataSize, 64 << 10},
		{"slow policy: close", got.SlowPolicy, reactor.SlowPolicy("close")},
		{"silence before a ping: 25 s", got.PingInterval, 25 * time.Second},
		{"answer to a ping: 10 s", got.PongTimeout, 10 * time.Second},
		{"no data message: off", got.IdleTimeout, time.Duration(0)},
		{"answer to our close frame: 5 s", got.CloseTimeout, 5 * time.Second},
		{"README: --drain-window (10s)", got.DrainWindow, 10 * time.Second},
		{"README: listen on :8080", got.Listen, ":8080"},
		{"publications waiting for NATS: 8 MiB", nats.PublishBuffer, 8 << 20},
		{"publications waiting for NATS, by count: 65,536", nats.PublishBufferMsgs, 65536},
		{"time on shutdown to send what is still waiting: 2 s", nats.CloseGrace, 2 * time.Second},
		{"a write to NATS that makes no progress: 5 s", nats.WriteTimeout, 5 * time.Second},
		{"pings to NATS: every 20 s", nats.PingInterval, 20 * time.Second},
		{"messages from NATS waiting for the node: 65,536", nats.InboxSize, 65536},
		{"--nats-prefix: wsgate.ch", nats.Prefix, "wsgate.ch"},
		{"admin connections open at once: 64", opts.adminMaxConns, 64},
		{"the admin listener is on localhost", opts.adminListen, "127.0.0.1:8081"},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: the node runs with %v", c.doc, c.got)
		}
	}
}

// fieldDiffs lists the fields in which two structs of one type differ,
// as "Name = got, want want".
func fieldDiffs(got, want any) []string {
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	var out []string
	for i := range g.NumField() {
		if a, b := g.Field(i).Interface(), w.Field(i).Interface(); !reflect.DeepEqual(a, b) {
			out = append(out, fmt.Sprintf("%s = %v, want %v", g.Type().Field(i).Name, a, b))
		}
	}
	return out
}

// TestParseConfigPrecedence: command line > environment > file > default,
// for each setting separately.
func TestParseConfigPrecedence(t *testing.T) {
	file := writeConfig(t, `
max-conns = 3
ping-interval = "5s"
slow-policy = "drop"
nats-prefix = "from.file"
`)
	const (
		flagConns, envConns, fileConns = 1, 2, 3
	)
	for _, tc := range []struct {
		name      string
		flag, env bool
		file      bool
		want      int
	}{
		{"default", false, false, false, reactor.DefaultMaxConns},
		{"file", false, false, true, fileConns},
		{"env", false, true, false, envConns},
		{"flag", true, false, false, flagConns},
		{"env over file", false, true, true, envConns},
		{"flag over file", true, false, true, flagConns},
		{"flag over env", true, true, false, flagConns},
		{"flag over env over file", true, true, true, flagConns},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var args []string
			vars := map[string]string{}
			if tc.flag {
				args = append(args, "--max-conns=1")
			}
			if tc.env {
				vars["WSGATE_MAX_CONNS"] = "2"
			}
			if tc.file {
				args = append(args, "--config", file)
			}
			cfg, opts, err := parse(t, args, vars)
			if err != nil {
				t.Fatalf("parseConfig(%q, %v): %v", args, vars, err)
			}
			if cfg.MaxConns != tc.want {
				t.Errorf("MaxConns = %d, want %d", cfg.MaxConns, tc.want)
			}
			// The file's other settings apply whatever overrides max-conns.
			wantPing, wantPolicy, wantPrefix := reactor.DefaultPingInterval, reactor.SlowPolicy(""), relay.DefaultSubjectPrefix
			if tc.file {
				wantPing, wantPolicy, wantPrefix = 5*time.Second, reactor.SlowDrop, "from.file"
			}
			if cfg.PingInterval != wantPing || cfg.SlowPolicy != wantPolicy || opts.nats.Prefix != wantPrefix {
				t.Errorf("ping %s, slow policy %q, prefix %q; want %s, %q, %q",
					cfg.PingInterval, cfg.SlowPolicy, opts.nats.Prefix, wantPing, wantPolicy, wantPrefix)
			}
		})
	}
}

// TestParseConfigMixed: each setting comes from the highest source that
// names it.
func TestParseConfigMixed(t *testing.T) {
	file := writeConfig(t, "max-conns = 3\nping-interval = \"5s\"\nslow-policy = \"drop\"\necho = \"off\"\nmax-frame-size = 4096\n")
	cfg, opts, err := parse(t,
		[]string{"--config", file, "--ping-interval", "7s", "-admin-listen=127.0.0.1:0"},
		map[string]string{
			"WSGATE_MAX_CONNS":     "2",
			"WSGATE_PING_INTERVAL": "6s", // loses to the flag
			"WSGATE_NODE_ID":       "n7",
			"UNRELATED":            "x",
		})
	if err != nil {
		t.Fatalf("parseConfig: %v", err)
	}
	if cfg.MaxConns != 2 || cfg.PingInterval != 7*time.Second || cfg.SlowPolicy != reactor.SlowDrop ||
		cfg.Echo != reactor.EchoOff || cfg.Limits.MaxFrameSize != 4096 {
		t.Errorf("got max-conns %d, ping %s, slow policy %q, echo %q, max-frame-size %d; want 2, 7s, drop, off, 4096",
			cfg.MaxConns, cfg.PingInterval, cfg.SlowPolicy, cfg.Echo, cfg.Limits.MaxFrameSize)
	}
	if opts.adminListen != "127.0.0.1:0" || opts.nodeID != "n7" {
		t.Errorf("admin-listen %q, node-id %q; want 127.0.0.1:0, n7", opts.adminListen, opts.nodeID)
	}
}

// TestParseConfigFileFromEnv: --help says every flag can be set as
// WSGATE_<FLAG>, and --config is one of them.
func TestParseConfigFileFromEnv(t *testing.T) {
	fromEnv := writeConfig(t, "max-conns = 3\n")
	fromFlag := writeConfig(t, "max-conns = 4\n")
	vars := map[string]string{"WSGATE_CONFIG": fromEnv}
	cfg, _, err := parse(t, nil, vars)
	if err != nil {
		t.Fatalf("parseConfig: %v", err)
	}
	if cfg.MaxConns != 3 {
		t.Errorf("with WSGATE_CONFIG=%s (max-conns = 3): MaxConns = %d, want 3", fromEnv, cfg.MaxConns)
	}
	cfg, _, err = parse(t, []string{"--config", fromFlag}, vars)
	if err != nil {
		t.Fatalf("parseConfig: %v", err)
	}
	if cfg.MaxConns != 4 {
		t.Errorf("--config beats WSGATE_CONFIG: MaxConns = %d, want 4", cfg.MaxConns)
	}
}

func TestParseConfigNATSURLs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		vars map[string]string
		want []string
	}{
		{[]string{"--nats", "nats://a:4222,nats://b:4222"}, nil, []string{"nats://a:4222", "nats://b:4222"}},
		{[]string{"--nats= nats://a:4222 , ,nats://b:4222 "}, nil, []string{"nats://a:4222", "nats://b:4222"}},
		{[]string{"--nats", "nats://a:4222", "--nats", "nats://b:4222"}, nil, []string{"nats://a:4222", "nats://b:4222"}},
		{nil, map[string]string{"WSGATE_NATS": "nats://a:4222,nats://b:4222"}, []string{"nats://a:4222", "nats://b:4222"}},
		{[]string{"--nats", "nats://flag:4222"}, map[string]string{"WSGATE_NATS": "nats://env:4222"}, []string{"nats://flag:4222"}},
		{nil, nil, nil},
	} {
		_, opts, err := parse(t, tc.args, tc.vars)
		if err != nil {
			t.Errorf("parseConfig(%q, %v): %v", tc.args, tc.vars, err)
			continue
		}
		if !reflect.DeepEqual(opts.nats.URLs, tc.want) {
			t.Errorf("parseConfig(%q, %v): URLs %q, want %q", tc.args, tc.vars, opts.nats.URLs, tc.want)
		}
	}
}

// TestParseConfigFileLists: every list setting takes a TOML array (or one
// comma-separated string, as on the command line), and the file's list
// loses to the environment's and the command line's as a whole.
func TestParseConfigFileLists(t *testing.T) {
	file := writeConfig(t, `
allowed-origins = ["https://a.example", " https://*.b.example "]
allowed-hosts = ["ws.example.com", "*.example.com"]
public-channels = ["news.>", "public.*"]
nats = ["nats://a:4222", "nats://b:4222"]
`)
	cfg, opts, err := parse(t, []string{"--config", file}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want []string
	}{
		{"allowed-origins", cfg.AllowedOrigins, []string{"https://a.example", "https://*.b.example"}},
		{"allowed-hosts", cfg.AllowedHosts, []string{"ws.example.com", "*.example.com"}},
		{"public-channels", opts.sec.publicChannels, []string{"news.>", "public.*"}},
		{"nats", opts.nats.URLs, []string{"nats://a:4222", "nats://b:4222"}},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	// The parsed lists make a valid configuration (before, the array
	// arrived as the one origin "[https://a.example https://*.b.example]").
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}

	cfg, _, err = parse(t, []string{"--config", writeConfig(t, `allowed-origins = "https://a.example, https://c.example"`)}, nil)
	if want := []string{"https://a.example", "https://c.example"}; err != nil || !reflect.DeepEqual(cfg.AllowedOrigins, want) {
		t.Errorf("a comma-separated string: %q, %v; want %q", cfg.AllowedOrigins, err, want)
	}
	cfg, _, err = parse(t, []string{"--config", writeConfig(t, `allowed-origins = []`)}, nil)
	if err != nil || len(cfg.AllowedOrigins) != 0 {
		t.Errorf("an empty array: %q, %v; want no origin", cfg.AllowedOrigins, err)
	}

	cfg, opts, err = parse(t, []string{"--config", file, "--nats", "nats://flag:4222"},
		map[string]string{"WSGATE_ALLOWED_ORIGINS": "https://env.example"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"https://env.example"}; !reflect.DeepEqual(cfg.AllowedOrigins, want) {
		t.Errorf("environment over file: allowed-origins = %q, want %q", cfg.AllowedOrigins, want)
	}
	if want := []string{"nats://flag:4222"}; !reflect.DeepEqual(opts.nats.URLs, want) {
		t.Errorf("command line over file: nats = %q, want %q", opts.nats.URLs, want)
	}
	if want := []string{"ws.example.com", "*.example.com"}; !reflect.DeepEqual(cfg.AllowedHosts, want) {
		t.Errorf("file: allowed-hosts = %q, want %q", cfg.AllowedHosts, want)
	}
}

// TestParseConfigFileTypes: a value of the wrong TOML type is an error
// naming the setting and the type it wants, never shown the value (it may
// be a secret); the right types are taken.
func TestParseConfigFileTypes(t *testing.T) {
	for _, tc := range []struct {
		line string
		want string // the whole message after "config file PATH: "
	}{
		{`max-conns = "50000"`, `max-conns: want an integer, got a string (drop the quotes)`},
		{`max-conns = 5e4`, `max-conns: want an integer, got a float`},
		{`max-conns = [1]`, `max-conns: want an integer, got an array`},
		{`nats-max-conns = "3"`, `nats-max-conns: want an integer, got a string (drop the quotes)`},
		{`reuseport = "yes"`, `reuseport: want true or false, got a string`},
		{`reuseport = 1`, `reuseport: want true or false, got an integer`},
		{`ping-interval = 5`, `ping-interval: want a duration string such as "10s", got an integer`},
		{`nats-close-grace = 2`, `nats-close-grace: want a duration string such as "10s", got an integer`},
		{`ping-interval = 00:00:05`, `ping-interval: want a duration string such as "10s", got a date or time`},
		{`handshake-rate-per-ip = "2.5"`, `handshake-rate-per-ip: want a number, got a string (drop the quotes)`},
		{`listen = 8080`, `listen: want a string, got an integer`},
		{`jwt-hmac-secret = 123456789`, `jwt-hmac-secret: want a string, got an integer`},
		{`slow-policy = ["drop"]`, `slow-policy: want a string, got an array`},
		{`allowed-origins = 3`, `allowed-origins: want an array of strings, got an integer`},
		{`allowed-origins = ["https://a.example", 3]`, `allowed-origins: want an array of strings, got an integer at index 1`},
		{`allowed-origins = ["https://a.example", " "]`, `allowed-origins: empty string at index 1`},
		{`nats = [["nats://a:4222"]]`, `nats: want an array of strings, got an array at index 0`},
		{`max-message-size = true`, `max-message-size: want a size, a string with a unit such as "32MiB" or an integer of bytes, got a boolean`},
		{`max-message-size = 1.5`, `max-message-size: want a size, a string with a unit such as "32MiB" or an integer of bytes, got a float`},
		{`max-message-size = -1`, `max-message-size: must not be negative`},
		{`max-message-size = "32M"`, `max-message-size: unit "M" is ambiguous: write MB (powers of 1000) or MiB (powers of 1024)`},
	} {
		path := writeConfig(t, tc.line+"\n")
		_, _, err := parse(t, []string{"--config", path}, nil)
		if want := "config file " + path + ": " + tc.want; err == nil || err.Error() != want {
			t.Errorf("%s: got error\n\t%v\nwant\n\t%s", tc.line, err, want)
		}
		if err != nil && strings.Contains(tc.line, "123456789") && strings.Contains(err.Error(), "123456789") {
			t.Errorf("%s: the error shows the value: %v", tc.line, err)
		}
	}

	cfg, opts, err := parse(t, []string{"--config", writeConfig(t, `
reuseport = true
handshake-rate-per-ip = 2
max-message-size = 1048576
max-frame-size = "64KiB"
ping-interval = "1m30s"
nats-max-conns = 3
nats-close-grace = "3s"
slow-policy = "drop"
`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.ReusePort || cfg.HandshakeRatePerIP != 2 || cfg.Limits.MaxMessageSize != 1<<20 || cfg.Limits.MaxFrameSize != 64<<10 ||
		cfg.PingInterval != 90*time.Second || opts.nats.maxConns != 3 || opts.nats.CloseGrace != 3*time.Second || cfg.SlowPolicy != reactor.SlowDrop {
		t.Errorf("typed values not taken: %+v, %+v", cfg, opts.nats)
	}
}

// TestParseConfigFileTables: a table is not a setting (yet): [name],
// [a.b], [[name]] and inline tables are refused, naming the table, and so
// is a setting written after a table header, which TOML puts in the table.
func TestParseConfigFileTables(t *testing.T) {
	for _, tc := range []struct {
		file, want string
	}{
		{"[namespaces.chat]\nhistory = 10\n", "[namespaces]: unknown table"},
		{"max-conns = 3\n[server]\nmax-data-size = \"1KiB\"\n", "[server]: unknown table: settings are top-level keys named like the flags, written before any [table] line"},
		{"[[nats]]\nurl = \"nats://a:4222\"\n", "[nats]: unknown table"},
		{"limits = { max-conns = 3 }\n", "[limits]: unknown table"},
	} {
		path := writeConfig(t, tc.file)
		_, _, err := parse(t, []string{"--config", path}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error saying %q", tc.file, err, tc.want)
		}
	}
}

// TestParseConfigFileErrorsInOrder: every problem in the file is reported,
// in the file's order, the same on every run.
func TestParseConfigFileErrorsInOrder(t *testing.T) {
	path := writeConfig(t, "zz-unknown = 1\nmax-conns = \"x\"\naa-unknown = 2\n[b]\n[a]\n")
	want := []string{`"zz-unknown"`, "max-conns:", `"aa-unknown"`, "[b]:", "[a]:"}
	for range 20 { // a map's order would differ within a few runs
		_, _, err := parse(t, []string{"--config", path}, nil)
		if err == nil {
			t.Fatal("want an error")
		}
		lines := strings.Split(err.Error(), "\n")
		if len(lines) != len(want) {
			t.Fatalf("%d errors, want %d:\n%v", len(lines), len(want), err)
		}
		for i, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Fatalf("error %d is %q, want it about %s:\n%v", i, lines[i], w, err)
			}
		}
	}
}

// TestParseConfigSizes: every size setting takes units (KiB = 1024,
// KB = 1000) or plain bytes, from the command line, the environment and
// the file alike.
func TestParseConfigSizes(t *testing.T) {
	cfg, opts, err := parse(t, []string{
		"--max-message-size", "32MiB", "--max-frame-size=1.5MiB", "--max-header-bytes", "16384",
		"--max-byte-rate", "-1", "--config", writeConfig(t, "max-data-size = \"1KB\"\nnats-publish-buffer = 65536\n"),
	}, map[string]string{"WSGATE_MAX_OUTBOUND_BYTES": "1.5GiB"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"max-message-size", cfg.Limits.MaxMessageSize, 32 << 20},
		{"max-frame-size", cfg.Limits.MaxFrameSize, 3 << 19},
		{"max-header-bytes", int64(cfg.Limits.MaxHeaderBytes), 16384},
		{"max-byte-rate", int64(cfg.ByteRate), -1},
		{"max-data-size", int64(cfg.MaxDataSize), 1000},
		{"nats-publish-buffer", int64(opts.nats.PublishBuffer), 65536},
		{"max-outbound-bytes", int64(cfg.MaxOutboundBytes), 3 << 29},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}

	for _, tc := range []struct {
		args []string
		vars map[string]string
		want string
	}{
		{args: []string{"--max-message-size", "32M"}, want: `unit "M" is ambiguous`},
		{args: []string{"--max-message-size", "-1"}, want: "must not be negative"},
		{args: []string{"--max-frame-size", "-1KiB"}, want: "must not be negative"},
		{args: []string{"--max-byte-rate", "-1KiB"}, want: "must not be negative"},
		{args: []string{"--max-message-size", "8EiB"}, want: "too large"},
		{args: []string{"--max-data-size", "99999999999999999999"}, want: "too large"},
		{args: []string{"--nats-publish-buffer", "1.5B"}, want: "not a whole number of bytes"},
		{args: []string{"--max-header-bytes", "lots"}, want: "max-header-bytes"},
		{vars: map[string]string{"WSGATE_MAX_MESSAGE_SIZE": "1 MiB of RAM"}, want: "WSGATE_MAX_MESSAGE_SIZE"},
	} {
		_, _, err := parse(t, tc.args, tc.vars)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseConfig(%q, %v) = %v, want an error saying %q", tc.args, tc.vars, err, tc.want)
		}
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		vars map[string]string
		file string   // written to a temporary file and passed with --config
		want []string // substrings of the error
	}{
		{name: "unknown key in the file", file: "max-conns = 3\nmax-con = 5\n", want: []string{`"max-con"`, "unknown setting"}},
		{name: "config key in the file", file: "config = \"other.toml\"\n", want: []string{`"config"`, "unknown setting"}},
		{name: "bad value in the file", file: "ping-interval = \"soon\"\n", want: []string{"ping-interval"}},
		{name: "bad slow policy in the file", file: "slow-policy = \"bogus\"\n", want: []string{"slow-policy"}},
		{name: "not TOML", file: "max-conns = = 3\n", want: []string{"config file"}},
		{name: "missing file", args: []string{"--config", "/nonexistent/wsgate.toml"}, want: []string{"/nonexistent/wsgate.toml"}},
		{name: "bad int in env", vars: map[string]string{"WSGATE_MAX_CONNS": "lots"}, want: []string{"WSGATE_MAX_CONNS"}},
		{name: "bad duration in env", vars: map[string]string{"WSGATE_PING_INTERVAL": "5"}, want: []string{"WSGATE_PING_INTERVAL"}},
		{name: "bad slow policy in env", vars: map[string]string{"WSGATE_SLOW_POLICY": "bogus"}, want: []string{"WSGATE_SLOW_POLICY"}},
		{name: "bad slow policy flag", args: []string{"--slow-policy=bogus"}, want: []string{"slow-policy", "want close, drop or conflate"}},
		{name: "unknown flag", args: []string{"--max-con=5"}, want: []string{"max-con"}},
		{name: "argument", args: []string{"extra"}, want: []string{`"extra"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.file != "" {
				args = append(args, "--config", writeConfig(t, tc.file))
			}
			_, _, err := parse(t, args, tc.vars)
			if err == nil {
				t.Fatalf("parseConfig(%q, %v) succeeded, want an error", args, tc.vars)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestParseConfigReportsEveryError: a bad environment and a bad file are
// reported together, so one run shows everything to fix.
func TestParseConfigReportsEveryError(t *testing.T) {
	file := writeConfig(t, "max-con = 5\n")
	_, _, err := parse(t, []string{"--config", file}, map[string]string{"WSGATE_PONG_TIMEOUT": "x"})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, w := range []string{"WSGATE_PONG_TIMEOUT", `"max-con"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"--help"}, &out); code != 0 {
		t.Errorf("wsgate --help exited %d, want 0", code)
	}
	help := out.String()
	for _, entry := range []string{
		`listen address`, `admin-listen address`, `max-conns int`,
		`nats URL\[,URL...\]`, `ping-interval duration`, `config file`, `max-message-size size`, `nats-publish-buffer size`,
	} {
		// Go's flag package lists flags as "  -name"; accept "--name" too.
		if !regexp.MustCompile(`(?m)^  --?` + entry + `$`).MatchString(help) {
			t.Errorf("--help does not list %q:\n%s", entry, help)
		}
	}
	for _, s := range []string{"WSGATE_", "WSGATE_MAX_CONNS", "Command line > environment > file > default"} {
		if !strings.Contains(help, s) {
			t.Errorf("--help does not mention %q", s)
		}
	}
	// Defaults shown are the ones in force.
	for _, s := range []string{`(default ":8080")`, `(default "127.0.0.1:8081")`, `(default 25s)`, `(default 1000000)`,
		`(default 1MiB)`, `(default 8KiB)`, `(default 64KiB)`, `(default 256KiB)`, `(default 8MiB)`} {
		if !strings.Contains(help, s) {
			t.Errorf("--help does not show %s", s)
		}
	}
}

func TestRunBadUsage(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"--slow-policy=bogus"}, &out); code != 2 {
		t.Errorf("wsgate --slow-policy=bogus exited %d, want 2", code)
	}
	if !strings.Contains(out.String(), "slow-policy") {
		t.Errorf("output does not name the flag:\n%s", out.String())
	}
	out.Reset()
	if code := run([]string{"serve", "--log-format=xml"}, &out); code != 2 {
		t.Errorf("wsgate serve --log-format=xml exited %d, want 2", code)
	}
}

// The descriptors kept out of --max-sockets grow with everything else that
// may hold one: loops, admin connections, the embedded NATS server's.
func TestReservedFDsCountEveryDescriptorUser(t *testing.T) {
	cfg, opts, err := parse(t, []string{"--loops", "2", "--admin-max-conns", "10"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sizeLimits(&cfg, &opts)
	base := cfg.ReservedFDs
	if want := reactor.DefaultReservedFDs + 4*2 + 2*10; base != want {
		t.Fatalf("reserved %d, want %d", base, want)
	}
	if cfg.MaxChannels < 10_000 {
		t.Fatalf("max channels %d, want sized to memory, at least 10,000", cfg.MaxChannels)
	}
	if mem, ok := usableMemory(); !ok || cfg.MaxPartialBytes != int(max(mem/16, reactor.DefaultMaxPartialBytes)) {
		t.Fatalf("max partial bytes %d, want a sixteenth of %d B, at least %d", cfg.MaxPartialBytes, mem, reactor.DefaultMaxPartialBytes)
	}
	cfg, opts, err = parse(t, []string{"--loops", "2", "--admin-max-conns", "10", "--nats-listen", "127.0.0.1:0", "--nats-max-conns", "100"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sizeLimits(&cfg, &opts)
	if cfg.ReservedFDs < base+100 {
		t.Fatalf("with an embedded NATS server for 100 clients: reserved %d, want at least %d", cfg.ReservedFDs, base+100)
	}
}
