package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/wsgate/wsgate/admin"
	"github.com/wsgate/wsgate/proxy"
	"github.com/wsgate/wsgate/reactor"
)

// edgeOptions are the settings about what stands in front of the node: a
// load balancer or proxy (docs/deploy.md).
type edgeOptions struct {
	agentListen   string
	lbIdleTimeout time.Duration
	lbIdleWarn    bool
}

func (o *edgeOptions) addFlags(fs *flag.FlagSet, cfg *reactor.Config) {
	fs.Func("proxy-protocol", "PROXY protocol header expected from --trusted-proxies before each request: off, v1, v2 or any (default off)", func(v string) error {
		ver, err := proxy.ParseVersion(v)
		cfg.ProxyProtocol = ver
		return err
	})
	fs.Func("trusted-proxies", "comma-separated `CIDRs` of the proxies in front (10.0.0.0/8,127.0.0.1): their PROXY header and X-Forwarded-For/Forwarded are believed, the right-most untrusted address being the client (default none)", func(v string) error {
		t, err := proxy.ParseTrusted(v)
		cfg.TrustedProxies = t
		return err
	})
	fs.Func("proxy-protocol-untrusted", "with --proxy-protocol on, a peer outside --trusted-proxies is refused (reset and counted) or allowed as a direct client with no header (default refuse)", func(v string) error {
		switch v {
		case "refuse":
			cfg.AllowUntrustedDirect = false
		case "allow":
			cfg.AllowUntrustedDirect = true
		default:
			return fmt.Errorf("want refuse or allow")
		}
		return nil
	})
	fs.Func("forwarded-header", "header a trusted proxy names the client in: x-forwarded-for, forwarded (RFC 7239) or none; only that one is read, since a proxy passes the other through from the client (default x-forwarded-for)", func(v string) error {
		switch strings.ToLower(v) {
		case "x-forwarded-for":
			cfg.ForwardedHeader = reactor.ForwardedXFF
		case "forwarded":
			cfg.ForwardedHeader = reactor.ForwardedRFC7239
		case "none":
			cfg.ForwardedHeader = reactor.ForwardedNone
		default:
			return fmt.Errorf("want x-forwarded-for, forwarded or none")
		}
		return nil
	})
	fs.StringVar(&o.agentListen, "agent-listen", "", "`address` of the HAProxy agent-check responder (\"up N%\" from load, \"drain\" while draining); empty: off")
	fs.DurationVar(&o.lbIdleTimeout, "lb-idle-timeout", 0, "idle timeout of the load balancer in front (AWS ALB 60s, Cloudflare 100s, AWS NLB 350s): the node refuses to start unless --ping-interval is comfortably below it (0: not checked)")
	fs.Func("lb-idle-check", "what a --ping-interval too close to --lb-idle-timeout does: refuse (exit) or warn (default refuse)", func(v string) error {
		switch v {
		case "refuse":
			o.lbIdleWarn = false
		case "warn":
			o.lbIdleWarn = true
		default:
			return fmt.Errorf("want refuse or warn")
		}
		return nil
	})
}

// reservedFDs are the descriptors the agent responder may hold.
func (o *edgeOptions) reservedFDs() int {
	if o.agentListen == "" {
		return 0
	}
	return 1 + admin.AgentMaxConns
}

// idleMargin is how far below the balancer's idle timeout the ping
// interval must stay: a ping leaves when the connection has been quiet for
// the interval, and must cross the balancer, with the client's answer,
// before the balancer's timer runs out. A quarter of the timeout, at least
// 5 s, covers a loaded node's timer tick, a slow client and network delay.
func idleMargin(lbIdle time.Duration) time.Duration {
	return max(lbIdle/4, 5*time.Second)
}

// checkIdleTimeout reports whether the ping interval keeps quiet
// connections alive through a balancer with the given idle timeout, and if
// not which settings to change.
func checkIdleTimeout(ping, lbIdle time.Duration) error {
	if lbIdle <= 0 {
		return nil
	}
	if limit := lbIdle - idleMargin(lbIdle); ping > limit {
		return fmt.Errorf("--ping-interval %v is not comfortably below --lb-idle-timeout %v: the balancer would close quiet connections before the ping keeps them alive; set --ping-interval to %v or less, or raise the balancer's idle timeout (AWS ALB: idle_timeout.timeout_seconds; NGINX: proxy_read_timeout; HAProxy: timeout tunnel)",
			ping, lbIdle, limit.Truncate(time.Second))
	}
	return nil
}

// startAgent serves the agent-check responder when --agent-listen is set;
// stop ends it.
func startAgent(o *edgeOptions, eng *reactor.Engine, logger *slog.Logger) (stop func(), err error) {
	if o.agentListen == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", o.agentListen)
	if err != nil {
		return nil, fmt.Errorf("agent-check responder: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := admin.ServeAgent(ctx, ln, eng); err != nil {
			logger.Error("agent-check responder stopped", "err", err)
		}
	}()
	logger.Info("agent-check responder listening", "addr", ln.Addr().String())
	return func() { cancel(); <-done }, nil
}
