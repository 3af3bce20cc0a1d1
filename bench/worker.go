package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// Worker processes.
//
// A multi-process run starts one `wsbench worker` per shard. The
// coordinator and a worker speak JSON lines: commands on the worker's
// stdin, events on its stdout (its stderr is the coordinator's).
//
//	→ {"op":"plan","plan":{…}}       first line: the worker starts its ramp
//	← {"ev":"progress",…}            every 25 ms: counters, own CPU and RSS,
//	                                  and once a second the latency histogram
//	                                  of that second (encoded)
//	→ {"op":"ready"}   ← {"ev":"ready","ready":{…}}
//	→ {"op":"start"}   ← {"ev":"started"}
//	→ {"op":"stop"}    ← {"ev":"stopped"}
//	→ {"op":"finish"}  ← {"ev":"result","result":{…}}   then the worker exits
//	← {"ev":"error","error":"…"}     a command failed
//
// Histograms travel in HdrHistogram's encoded form, so the coordinator's
// merge is exact. A worker whose stdin closes stops at once: it never
// outlives the coordinator.

// WorkerEnv is set in a worker process's environment.
const WorkerEnv = "WSBENCH_WORKER"

// workerTimeout bounds any one command in a worker.
const workerTimeout = 10 * time.Minute

type workerCmd struct {
	Op   string `json:"op"`
	Plan *Plan  `json:"plan,omitempty"`
}

type workerEvent struct {
	Ev       string      `json:"ev"`
	Error    string      `json:"error,omitempty"`
	Progress *Progress   `json:"progress,omitempty"`
	Usage    *ProcSample `json:"usage,omitempty"`
	Interval string      `json:"interval,omitempty"`
	Ready    *Ready      `json:"ready,omitempty"`
	Result   *wireResult `json:"result,omitempty"`
}

// wireResult is a ShardResult with its histograms encoded.
type wireResult struct {
	ShardResult
	Connect    string `json:"connect"`
	ConnectRaw string `json:"connect_raw"`
	Latency    string `json:"latency"`
	LatencyRaw string `json:"latency_raw"`
}

// ServeWorker runs one worker: it reads the plan and commands from in and
// writes events to out until finished or in closes.
func ServeWorker(in io.Reader, out io.Writer) error {
	dec := json.NewDecoder(bufio.NewReader(in))
	var mu sync.Mutex
	enc := json.NewEncoder(out)
	emit := func(ev workerEvent) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(ev)
	}
	var first workerCmd
	if err := dec.Decode(&first); err != nil || first.Op != "plan" || first.Plan == nil {
		return fmt.Errorf("bench worker: want a plan first: %v", err)
	}
	sh, err := NewShard(*first.Plan)
	if err == nil {
		err = sh.Start()
	}
	if err != nil {
		emit(workerEvent{Ev: "error", Error: err.Error()})
		return err
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		t := time.NewTicker(25 * time.Millisecond)
		defer t.Stop()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			p, u := sh.Progress(), selfUsage()
			ev := workerEvent{Ev: "progress", Progress: &p, Usage: &u}
			if i%40 == 0 {
				ev.Interval, _ = sh.IntervalHist().Encode()
			}
			emit(ev)
		}
	}()
	for {
		var cmd workerCmd
		if err := dec.Decode(&cmd); err != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, _ = sh.Finish(ctx)
			cancel()
			return nil // the coordinator is gone
		}
		ctx, cancel := context.WithTimeout(context.Background(), workerTimeout)
		ev, done := runWorkerCmd(ctx, sh, cmd)
		cancel()
		emit(ev)
		if done {
			return nil
		}
	}
}

func runWorkerCmd(ctx context.Context, sh *Shard, cmd workerCmd) (ev workerEvent, done bool) {
	var err error
	switch cmd.Op {
	case "ready":
		var r Ready
		if r, err = sh.WaitReady(ctx); err == nil {
			return workerEvent{Ev: "ready", Ready: &r}, false
		}
	case "start":
		if err = sh.StartLoad(ctx); err == nil {
			return workerEvent{Ev: "started"}, false
		}
	case "stop":
		if err = sh.StopLoad(ctx); err == nil {
			return workerEvent{Ev: "stopped"}, false
		}
	case "finish":
		var r ShardResult
		r, err = sh.Finish(ctx)
		w := &wireResult{ShardResult: r}
		for _, p := range []struct {
			h   *Hist
			dst *string
		}{{r.Connect, &w.Connect}, {r.ConnectRaw, &w.ConnectRaw}, {r.Latency, &w.Latency}, {r.LatencyRaw, &w.LatencyRaw}} {
			if s, eerr := p.h.Encode(); eerr == nil {
				*p.dst = s
			} else {
				err = errors.Join(err, eerr)
			}
		}
		if err == nil {
			return workerEvent{Ev: "result", Result: w}, true
		}
		return workerEvent{Ev: "error", Error: err.Error()}, true
	default:
		err = fmt.Errorf("unknown command %q", cmd.Op)
	}
	return workerEvent{Ev: "error", Error: err.Error()}, false
}

// remoteShard is the coordinator's handle on a worker process.
type remoteShard struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	enc   *json.Encoder

	mu       sync.Mutex
	last     Progress
	lastUse  ProcSample
	recent   *Hist // latencies since the last interval call
	replies  chan workerEvent
	dead     chan struct{} // closed when the worker's stdout ends
	waitErr  error
	killOnce sync.Once
}

// startWorker starts a worker process for plan.
func startWorker(ctx context.Context, cfg Config, plan Plan) (shardHandle, error) {
	self := cfg.Self
	if self == "" {
		var err error
		if self, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("bench: find own binary for workers: %w", err)
		}
	}
	cmd := exec.Command(self, cfg.Worker...)
	cmd.Env = append(os.Environ(), WorkerEnv+"=1")
	cmd.Stderr = cfg.Log
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start worker: %w", err)
	}
	w := &remoteShard{
		cmd: cmd, stdin: stdin, enc: json.NewEncoder(stdin),
		recent: NewHist(), replies: make(chan workerEvent, 4), dead: make(chan struct{}),
	}
	go w.read(stdout)
	if err := w.enc.Encode(workerCmd{Op: "plan", Plan: &plan}); err != nil {
		w.kill()
		return nil, fmt.Errorf("bench: send plan to worker: %w", err)
	}
	return w, nil
}

// read dispatches the worker's events until its stdout ends.
func (w *remoteShard) read(stdout io.Reader) {
	defer close(w.dead)
	dec := json.NewDecoder(bufio.NewReaderSize(stdout, 64<<10))
	for {
		var ev workerEvent
		if err := dec.Decode(&ev); err != nil {
			w.waitErr = w.cmd.Wait()
			return
		}
		if ev.Ev != "progress" {
			w.replies <- ev
			continue
		}
		w.mu.Lock()
		w.last, w.lastUse = *ev.Progress, *ev.Usage
		if ev.Interval != "" {
			if h, err := DecodeHist(ev.Interval); err == nil {
				w.recent.Merge(h)
			}
		}
		w.mu.Unlock()
	}
}

// call sends a command and waits for its answer.
func (w *remoteShard) call(ctx context.Context, op, want string) (workerEvent, error) {
	if err := w.enc.Encode(workerCmd{Op: op}); err != nil {
		return workerEvent{}, fmt.Errorf("bench: worker %d: %w", w.cmd.Process.Pid, err)
	}
	select {
	case ev := <-w.replies:
		if ev.Ev != want {
			return ev, fmt.Errorf("bench: worker %d: %s: %s", w.cmd.Process.Pid, op, ev.Error)
		}
		return ev, nil
	case <-w.dead:
		return workerEvent{}, fmt.Errorf("bench: worker %d exited during %s: %v", w.cmd.Process.Pid, op, w.waitErr)
	case <-ctx.Done():
		return workerEvent{}, fmt.Errorf("bench: worker %d: %s: %w", w.cmd.Process.Pid, op, ctx.Err())
	}
}

func (w *remoteShard) ready(ctx context.Context) (Ready, error) {
	ev, err := w.call(ctx, "ready", "ready")
	if err != nil || ev.Ready == nil {
		return Ready{}, errors.Join(err, errors.New("bench: worker sent no ready state"))
	}
	return *ev.Ready, nil
}

func (w *remoteShard) progress() Progress {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

func (w *remoteShard) usage() ProcSample {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastUse
}

func (w *remoteShard) interval() *Hist {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.recent
	w.recent = NewHist()
	return h
}

func (w *remoteShard) startLoad(ctx context.Context) error {
	_, err := w.call(ctx, "start", "started")
	return err
}

func (w *remoteShard) stopLoad(ctx context.Context) error {
	_, err := w.call(ctx, "stop", "stopped")
	return err
}

func (w *remoteShard) finish(ctx context.Context) (ShardResult, error) {
	ev, err := w.call(ctx, "finish", "result")
	defer w.kill()
	if err != nil {
		return ShardResult{}, err
	}
	r := ev.Result.ShardResult
	for _, p := range []struct {
		enc string
		dst **Hist
	}{{ev.Result.Connect, &r.Connect}, {ev.Result.ConnectRaw, &r.ConnectRaw}, {ev.Result.Latency, &r.Latency}, {ev.Result.LatencyRaw, &r.LatencyRaw}} {
		h, derr := DecodeHist(p.enc)
		if derr != nil {
			return ShardResult{}, derr
		}
		*p.dst = h
	}
	w.mu.Lock()
	w.last = r.Progress
	w.mu.Unlock()
	return r, nil
}

// kill closes the worker's stdin (it then finishes by itself) and kills
// it if it has not exited within 5 s.
func (w *remoteShard) kill() {
	w.killOnce.Do(func() {
		_ = w.stdin.Close()
		select {
		case <-w.dead:
		case <-time.After(5 * time.Second):
			_ = w.cmd.Process.Kill()
			<-w.dead
		}
	})
}
