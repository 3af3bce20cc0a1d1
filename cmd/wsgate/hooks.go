package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/wsgate/wsgate/hook"
	"github.com/wsgate/wsgate/reactor"
)

// hookOptions are the backend's event hooks (docs/backend.md).
type hookOptions struct {
	url, secret, secretFile         string
	connect, publish, message, open bool
	cfg                             hook.Config
}

func (o *hookOptions) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.url, "hook-url", "", "the backend's hook `URL` (http or https): disconnect, subscribe and unsubscribe events are POSTed to it, batched; --hook-connect, --hook-publish and --hook-message add synchronous calls")
	fs.StringVar(&o.secret, "hook-secret", "", "HMAC-SHA256 `secret` (16+ bytes) signing every hook request (X-Wsgate-Signature); prefer WSGATE_HOOK_SECRET or --hook-secret-file")
	fs.StringVar(&o.secretFile, "hook-secret-file", "", "`file` holding the hook secret")
	fs.BoolVar(&o.connect, "hook-connect", false, "ask the backend's connect hook before accepting each /ws connection (needs --hook-url)")
	fs.BoolVar(&o.publish, "hook-publish", false, "ask the backend's publish hook before each client publication: allow, deny or rewrite (needs --hook-url)")
	fs.BoolVar(&o.message, "hook-message", false, `pass {"type":"send"} client frames to the backend's message hook (needs --hook-url; without it send is refused)`)
	fs.BoolVar(&o.open, "hook-fail-open", false, "let a connection in when its connect hook fails, times out or is busy (default: refuse it with 503)")
	fs.DurationVar(&o.cfg.ConnectTimeout, "hook-timeout", hook.DefaultConnectTimeout, "`duration` a connect, publish or message hook call may take")
	fs.IntVar(&o.cfg.MaxConcurrent, "hook-max-concurrent", hook.DefaultMaxConcurrent, "connect, publish and message hook calls in flight at once; past it a handshake gets the failure outcome and a command a busy error")
	fs.IntVar(&o.cfg.QueueSize, "hook-queue", hook.DefaultQueueSize, "events waiting for the backend; past it events are dropped (counted and logged), never delivery")
}

// startHooks builds the hook client into cfg, or nothing without
// --hook-url. stop flushes queued events for up to 5 s.
func startHooks(cfg *reactor.Config, o *hookOptions, logger *slog.Logger) (stop func(), err error) {
	secret, err := secretValue("hook-secret", o.secret, o.secretFile)
	if err != nil {
		return nil, err
	}
	if o.url == "" {
		if o.connect || o.publish || o.message || secret != "" {
			return nil, fmt.Errorf("--hook-connect, --hook-publish, --hook-message and --hook-secret need --hook-url")
		}
		return func() {}, nil
	}
	hc := o.cfg
	hc.URL, hc.Secret, hc.FailOpen, hc.Logger = o.url, []byte(secret), o.open, logger
	c, err := hook.New(hc)
	if err != nil {
		return nil, err
	}
	cfg.Hooks, cfg.HookConnect, cfg.HookPublish, cfg.HookMessage = c, o.connect, o.publish, o.message
	logger.Info("backend hooks on", "url", o.url, "connect", o.connect, "publish", o.publish, "message", o.message, "fail_open", o.open)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	}, nil
}
