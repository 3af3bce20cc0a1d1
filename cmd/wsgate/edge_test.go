package main

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/admin"
	"github.com/wsgate/wsgate/proxy"
	"github.com/wsgate/wsgate/reactor"
)

func TestParseConfigEdge(t *testing.T) {
	cfg, opts, err := parse(t, []string{"--proxy-protocol", "v2", "--trusted-proxies", "10.0.0.0/8, 127.0.0.1",
		"--proxy-protocol-untrusted", "allow", "--agent-listen", "127.0.0.1:9999", "--lb-idle-timeout", "60s", "--lb-idle-check", "warn", "--forwarded-header", "Forwarded"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ProxyProtocol != proxy.V2 || !cfg.AllowUntrustedDirect || cfg.ForwardedHeader != reactor.ForwardedRFC7239 || opts.edge.agentListen != "127.0.0.1:9999" ||
		opts.edge.lbIdleTimeout != time.Minute || !opts.edge.lbIdleWarn {
		t.Fatalf("parsed %v %v %q %v %v", cfg.ProxyProtocol, cfg.AllowUntrustedDirect, opts.edge.agentListen, opts.edge.lbIdleTimeout, opts.edge.lbIdleWarn)
	}
	for _, a := range []string{"10.9.8.7", "127.0.0.1"} {
		if !cfg.TrustedProxies.Contains(netip.MustParseAddr(a)) {
			t.Errorf("%s not trusted", a)
		}
	}
	if cfg.TrustedProxies.Contains(netip.MustParseAddr("127.0.0.2")) {
		t.Error("127.0.0.2 trusted")
	}
	cfg, opts, err = parse(t, nil, map[string]string{"WSGATE_PROXY_PROTOCOL": "any", "WSGATE_TRUSTED_PROXIES": "::1"})
	if err != nil || cfg.ProxyProtocol != proxy.Any || cfg.AllowUntrustedDirect || opts.edge.agentListen != "" {
		t.Fatalf("from the environment: %v %v %q, %v", cfg.ProxyProtocol, cfg.AllowUntrustedDirect, opts.edge.agentListen, err)
	}
	for _, bad := range [][]string{
		{"--proxy-protocol", "v3"},
		{"--trusted-proxies", "10.0.0.0/33"},
		{"--proxy-protocol-untrusted", "maybe"},
		{"--lb-idle-check", "ignore"},
		{"--forwarded-header", "x-real-ip"},
	} {
		if _, _, err := parse(t, bad, nil); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// The agent's descriptors are kept out of --max-sockets like the admin API's.
func TestReservedFDsCountTheAgent(t *testing.T) {
	cfg, opts, err := parse(t, []string{"--loops", "2"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sizeLimits(&cfg, &opts)
	without := cfg.ReservedFDs
	cfg, opts, err = parse(t, []string{"--loops", "2", "--agent-listen", "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sizeLimits(&cfg, &opts)
	if got := cfg.ReservedFDs - without; got != 1+admin.AgentMaxConns {
		t.Fatalf("the agent reserves %d descriptors, want %d", got, 1+admin.AgentMaxConns)
	}
}

func TestCheckIdleTimeout(t *testing.T) {
	for _, tc := range []struct {
		ping, lb time.Duration
		ok       bool
	}{
		{25 * time.Second, 0, true},                     // not checked
		{25 * time.Second, 60 * time.Second, true},      // AWS ALB's default
		{45 * time.Second, 60 * time.Second, true},      // a quarter of margin
		{46 * time.Second, 60 * time.Second, false},     //
		{60 * time.Second, 60 * time.Second, false},     // the classic: cut every 60 s
		{25 * time.Second, 30 * time.Second, false},     // 5 s of margin is too little
		{25 * time.Second, 100 * time.Second, true},     // Cloudflare
		{5 * time.Minute, 350 * time.Second, false},     // NLB: 350 s less 87.5 s
		{4 * time.Minute, 350 * time.Second, true},      //
		{time.Second, 5 * time.Second, false},           // at least 5 s of margin
		{500 * time.Millisecond, 6 * time.Second, true}, //
	} {
		err := checkIdleTimeout(tc.ping, tc.lb)
		if (err == nil) != tc.ok {
			t.Errorf("ping %v, lb idle %v: %v, want ok %v", tc.ping, tc.lb, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "--ping-interval") {
			t.Errorf("the error does not say what to change: %v", err)
		}
	}
}

// A node whose ping interval would lose quiet connections to the balancer
// does not start, unless told to warn.
func TestRunRefusesPingAboveTheBalancersIdleTimeout(t *testing.T) {
	var out bytes.Buffer
	code := run([]string{"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--ping-interval", "60s", "--lb-idle-timeout", "60s"}, &out)
	if code != 2 || !strings.Contains(out.String(), "set --ping-interval to 45s or less") {
		t.Fatalf("exit %d, output:\n%s\nwant 2 and what to set", code, out.String())
	}
}
