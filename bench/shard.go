//go:build linux

package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/wsgate/wsgate/wsproto"
)

// Plan is one shard's part of a run: the connections one process opens and
// what they do. The coordinator makes one per process; it travels to worker
// processes as JSON.
type Plan struct {
	Targets        []Target      `json:"targets"`
	SourceIPs      []netip.Addr  `json:"source_ips,omitempty"`
	FirstID        uint64        `json:"first_id"`              // global number of the first connection
	Count          int           `json:"count"`                 // connections FirstID.. opened by the ramp
	ChurnFirstID   uint64        `json:"churn_first_id"`        // global number of the first churn subscriber
	Churn          int           `json:"churn"`                 // churn subscribers ChurnFirstID.., opened after the others
	ConnectRate    float64       `json:"connect_rate"`          // per second; 0: as fast as the dialers go
	RampStages     []RampStage   `json:"ramp_stages,omitempty"` // this process's share of Config.RampStages; they replace ConnectRate
	Channels       int           `json:"channels"`              // connection id subscribes to id % Channels; 0: none
	ChannelPrefix  string        `json:"channel_prefix"`
	SubscribeFrame bool          `json:"subscribe_frame,omitempty"` // subscribe with a frame after the 101, not ?channels=
	Echo           bool          `json:"echo"`                      // connections are echo clients, not subscribers
	Publishers     int           `json:"publishers"`
	Payload        int           `json:"payload"`
	PayloadKind    string        `json:"payload_kind,omitempty"` // echo messages: PayloadFiller or PayloadJSON
	Deflate        bool          `json:"deflate,omitempty"`      // offer permessage-deflate; a 101 without it fails the connection
	EchoRate       float64       `json:"echo_rate"`              // per connection per second; 0: closed loop
	ChurnRate      float64       `json:"churn_rate"`             // reconnects per second
	Poisson        bool          `json:"poisson,omitempty"`      // churn arrivals are a Poisson process, not evenly spaced
	Reconnect      bool          `json:"reconnect,omitempty"`    // a stable subscriber the server drops redials another URL (Config.Reconnect)
	Loops          int           `json:"loops"`
	Dialers        int           `json:"dialers"`
	ConnectTimeout time.Duration `json:"connect_timeout"`
	CloseTimeout   time.Duration `json:"close_timeout"`
	Salt           uint64        `json:"salt"`
	TLS            TLSOptions    `json:"tls"`   // for wss:// targets
	Proxy          ProxyOptions  `json:"proxy"` // a PROXY header on every connection
	// Headers are "Name: value" lines added to every upgrade request
	// (Config.Headers); Subprotocols are offered in Sec-WebSocket-Protocol,
	// and a 101 must choose one of them (Config.Subprotocols).
	Headers      []string `json:"headers,omitempty"`
	Subprotocols []string `json:"subprotocols,omitempty"`
}

// churnIDBase starts the numbers of replacement connections opened while
// churning, far above any ramp's; reconnectIDBase those of reconnects.
const (
	churnIDBase     = 1 << 31
	reconnectIDBase = 1 << 30
)

// Shard holds one process's client connections on gnet event loops.
type Shard struct {
	plan         Plan
	salt         uint64
	limits       wsproto.Limits
	echoInterval int64 // nanoseconds between one connection's echo sends; 0: closed loop
	// upgradeLines are the request lines beyond wsproto's own, the same
	// for every connection (handshakeLines).
	upgradeLines []string

	cli     *gnet.Client
	handler *shardHandler
	loopsMu sync.Mutex
	loops   atomic.Pointer[[]*loop] // gnet's loops, then tlsLoops

	tlsConfigs []*tls.Config          // per target; nil for ws://
	tlsLoops   []*loop                // taskLoops carrying the wss:// connections
	tlsState   atomic.Pointer[string] // what the first TLS handshake negotiated

	jobs      chan dialJob
	dialers   []net.Dialer // one per source address
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	churnWG   sync.WaitGroup
	churnStop chan struct{}
	stopChurn sync.Once

	attempted  atomic.Int64
	dialFailed atomic.Int64 // dial or enroll failures
	unopened   atomic.Int64 // connections closed before their 101
	churnSeq   atomic.Uint64
	redials    atomic.Uint64 // stable subscribers redialled (Plan.Reconnect)
	dialErrMu  sync.Mutex
	dialErrs   map[string]int64

	baseMu    sync.Mutex
	base      ProcSample // own usage once the first baseConns connections are open
	baseHeap  uint64
	baseConns int64
}

type dialJob struct {
	id       uint64
	intended int64 // unix nanos
	// target, when retarget is set, is the URL to dial (a reconnect moves
	// on to the next); otherwise id picks it.
	target   int
	retarget bool
}

// NewShard checks plan and prepares a shard; Start opens connections.
func NewShard(plan Plan) (*Shard, error) {
	if len(plan.Targets) == 0 {
		return nil, errors.New("bench: no targets")
	}
	if plan.Loops <= 0 {
		plan.Loops = runtime.GOMAXPROCS(0)
	}
	if plan.Dialers <= 0 {
		plan.Dialers = DefaultDialers
	}
	if plan.Publishers <= 0 {
		plan.Publishers = 1
	}
	if plan.ConnectTimeout <= 0 {
		plan.ConnectTimeout = 10 * time.Second
	}
	if plan.CloseTimeout <= 0 {
		plan.CloseTimeout = 2 * time.Second
	}
	s := &Shard{
		plan:         plan,
		salt:         plan.Salt,
		limits:       wsproto.Limits{}.WithDefaults(),
		jobs:         make(chan dialJob, plan.Dialers),
		dialErrs:     make(map[string]int64),
		churnStop:    make(chan struct{}),
		upgradeLines: handshakeLines(plan.Headers, plan.Subprotocols, plan.Deflate),
	}
	if plan.EchoRate > 0 {
		s.echoInterval = int64(float64(time.Second) / plan.EchoRate)
	}
	s.loops.Store(&[]*loop{})
	s.dialers = makeDialers(plan)
	s.tlsConfigs = make([]*tls.Config, len(plan.Targets))
	for i, t := range plan.Targets {
		if !t.TLS {
			continue
		}
		cfg, err := plan.TLS.clientConfig(t)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		s.tlsConfigs[i] = cfg
	}
	s.handler = &shardHandler{sh: s}
	cli, err := gnet.NewClient(s.handler,
		gnet.WithMulticore(true),
		gnet.WithNumEventLoop(plan.Loops),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithLogger(quietLogger{}),
	)
	if err != nil {
		return nil, fmt.Errorf("bench: gnet client: %w", err)
	}
	s.cli = cli
	return s, nil
}

// Start begins the ramp: Count connections at ConnectRate.
func (s *Shard) Start() error {
	if err := s.cli.Start(); err != nil {
		return fmt.Errorf("bench: start gnet client: %w", err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.startTLSLoops()
	for range s.plan.Dialers {
		s.wg.Add(1)
		go s.dialLoop()
	}
	s.wg.Add(2)
	go s.ramp()
	go s.ticker()
	return nil
}

// ramp queues the connections at the planned rate. A dial is due at
// start + k/rate (or along the ramp's stages); when the dialers fall behind, the queue blocks and the
// connect time, counted from the due time, shows it.
//
// Once baselineAt connections are open it pauses to take the memory
// baseline (so the loops' fixed state, histograms included, is not charged
// to the connections), then resumes the schedule from there.
func (s *Shard) ramp() {
	defer s.wg.Done()
	total := s.plan.Count + s.plan.Churn
	baselineAt := min(max(total/100, 1), 200)
	start := time.Now()
	for k := range total {
		if k == baselineAt {
			s.takeBaseline(int64(k))
			start = time.Now().Add(-dialOffset(k, s.plan.ConnectRate, s.plan.RampStages))
		}
		id := s.plan.FirstID + uint64(k)
		if k >= s.plan.Count {
			id = s.plan.ChurnFirstID + uint64(k-s.plan.Count)
		}
		due := start
		if s.plan.ConnectRate > 0 || len(s.plan.RampStages) > 0 {
			due = start.Add(dialOffset(k, s.plan.ConnectRate, s.plan.RampStages))
			if wait := time.Until(due); wait > 0 {
				select {
				case <-time.After(wait):
				case <-s.ctx.Done():
					return
				}
			}
		}
		select {
		case s.jobs <- dialJob{id: id, intended: due.UnixNano()}:
		case <-s.ctx.Done():
			return
		}
	}
}

// takeBaseline waits (up to 5 s) for the first n connections to settle and
// samples the process's memory with them open.
func (s *Shard) takeBaseline(n int64) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && s.ctx.Err() == nil {
		p := s.Progress()
		if p.Handshakes+p.Failed >= n {
			break
		}
		time.Sleep(time.Millisecond)
	}
	debug.FreeOSMemory()
	s.baseMu.Lock()
	s.base, s.baseHeap, s.baseConns = selfUsage(), heapInUse(), s.Progress().Open
	s.baseMu.Unlock()
}

// tickEvery is the timer resolution: fine for fixed-rate echo, coarse
// otherwise (deadlines only).
func (s *Shard) tickEvery() time.Duration {
	if s.echoInterval > 0 {
		return time.Millisecond
	}
	return 20 * time.Millisecond
}

// ticker posts a tick to every loop. gnet's own ticker runs off the loops.
func (s *Shard) ticker() {
	defer s.wg.Done()
	t := time.NewTicker(s.tickEvery())
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			for _, l := range *s.loops.Load() {
				_ = l.el.Execute(s.ctx, l.tickFn)
			}
		}
	}
}

// loopFor returns the state of gnet loop el, created when a connection
// first lands there. Runs on el.
func (s *Shard) loopFor(el gnet.EventLoop) *loop {
	for _, l := range *s.loops.Load() {
		if l.el == el {
			return l
		}
	}
	s.loopsMu.Lock()
	defer s.loopsMu.Unlock()
	old := *s.loops.Load()
	l := newLoop(el, s)
	loops := append(append(make([]*loop, 0, len(old)+1), old...), l)
	s.loops.Store(&loops)
	return l
}

// onLoops runs fn on every loop and waits for all of them, up to ctx.
func (s *Shard) onLoops(ctx context.Context, fn func(l *loop)) error {
	loops := *s.loops.Load()
	done := make(chan struct{}, len(loops))
	for _, l := range loops {
		err := l.el.Execute(ctx, gnet.RunnableFunc(func(context.Context) error {
			fn(l)
			done <- struct{}{}
			return nil
		}))
		if err != nil {
			return err
		}
	}
	for range loops {
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// channelOf is the channel connection id subscribes to, or -1.
func (s *Shard) channelOf(id uint32) int {
	if s.plan.Echo || s.plan.Channels <= 0 {
		return -1
	}
	return int(id % uint32(s.plan.Channels))
}

// settled reports whether every planned connection has opened or failed.
func (s *Shard) settled() bool {
	p := s.Progress()
	return p.Handshakes+p.Failed >= int64(s.plan.Count+s.plan.Churn)
}

// Ready is a shard's state once its ramp has settled.
type Ready struct {
	Open       int64   `json:"open"`
	PerChannel []int64 `json:"per_channel"` // stable subscribers open, by channel
	// Own usage once the first BaseOpen connections were open, and with
	// all of them open: the difference is the marginal cost of Open-BaseOpen
	// connections, after the ramp's garbage is returned to the OS.
	Base      ProcSample `json:"base"`
	After     ProcSample `json:"after"`
	BaseOpen  int64      `json:"base_open"`
	HeapBase  uint64     `json:"heap_base"`
	HeapAfter uint64     `json:"heap_after"`
	TLS       string     `json:"tls,omitempty"` // what the first TLS handshake negotiated
}

// WaitReady waits until every planned connection has opened or failed,
// then marks the open subscribers of the stable set, whose losses count.
func (s *Shard) WaitReady(ctx context.Context) (Ready, error) {
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	for !s.settled() {
		select {
		case <-ctx.Done():
			return Ready{}, fmt.Errorf("bench: connections not settled: %w", ctx.Err())
		case <-poll.C:
		}
	}
	n := max(s.plan.Channels, 1)
	var mu sync.Mutex
	s.baseMu.Lock()
	r := Ready{PerChannel: make([]int64, n), Base: s.base, HeapBase: s.baseHeap, BaseOpen: s.baseConns}
	s.baseMu.Unlock()
	if st := s.tlsState.Load(); st != nil {
		r.TLS = *st
	}
	stableEnd := s.plan.FirstID + uint64(s.plan.Count)
	err := s.onLoops(ctx, func(l *loop) {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range l.conns {
			if c.state != stateOpen {
				continue
			}
			r.Open++
			if id := uint64(c.id); c.role == roleSubscriber && id >= s.plan.FirstID && id < stableEnd {
				c.stable = true
				r.PerChannel[max(s.channelOf(c.id), 0)]++
			}
		}
	})
	debug.FreeOSMemory()
	r.After, r.HeapAfter = selfUsage(), heapInUse()
	return r, err
}

func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// StartLoad starts the shard's own load: echo sending, churn.
func (s *Shard) StartLoad(ctx context.Context) error {
	err := s.onLoops(ctx, func(l *loop) {
		l.echoing = s.plan.Echo
		now := time.Now().UnixNano()
		for _, c := range l.conns {
			if c.role == roleEcho && c.state == stateOpen {
				l.startEcho(c, now)
			}
		}
	})
	if s.plan.ChurnRate > 0 {
		s.churnWG.Add(1)
		go s.churn()
	}
	return err
}

// StopLoad stops sending new echo messages and churning; replies in flight
// still count.
func (s *Shard) StopLoad(ctx context.Context) error {
	s.stopChurn.Do(func() { close(s.churnStop) })
	s.churnWG.Wait()
	return s.onLoops(ctx, func(l *loop) { l.echoing = false })
}
