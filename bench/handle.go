package bench

import (
	"context"
	"sync"
)

// shardHandle is the coordinator's view of one process's shard: the shard
// itself in a single-process run, or a worker process (see worker.go).
type shardHandle interface {
	ready(ctx context.Context) (Ready, error)
	progress() Progress
	usage() ProcSample // the process's own CPU and RSS, recent
	interval() *Hist   // latencies since the last call (live p99)
	startLoad(ctx context.Context) error
	stopLoad(ctx context.Context) error
	finish(ctx context.Context) (ShardResult, error)
	kill() // ends the shard at once after a failure
}

// localShard runs a Shard in this process.
type localShard struct {
	sh       *Shard
	finished sync.Once
}

func startLocal(plan Plan) (*localShard, error) {
	sh, err := NewShard(plan)
	if err != nil {
		return nil, err
	}
	if err := sh.Start(); err != nil {
		return nil, err
	}
	return &localShard{sh: sh}, nil
}

func (l *localShard) ready(ctx context.Context) (Ready, error) { return l.sh.WaitReady(ctx) }
func (l *localShard) progress() Progress                       { return l.sh.Progress() }
func (l *localShard) usage() ProcSample                        { return selfUsage() }
func (l *localShard) interval() *Hist                          { return l.sh.IntervalHist() }
func (l *localShard) startLoad(ctx context.Context) error      { return l.sh.StartLoad(ctx) }
func (l *localShard) stopLoad(ctx context.Context) error       { return l.sh.StopLoad(ctx) }

func (l *localShard) finish(ctx context.Context) (r ShardResult, err error) {
	l.finished.Do(func() { r, err = l.sh.Finish(ctx) })
	return r, err
}

func (l *localShard) kill() {
	ctx, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	_, _ = l.finish(ctx)
}
