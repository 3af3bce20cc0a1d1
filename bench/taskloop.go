package bench

import (
	"context"
	"errors"
	"sync"

	"github.com/panjf2000/gnet/v2"
)

// errLoopStopped: a task was posted to a taskLoop that has stopped.
var errLoopStopped = errors.New("bench: task loop stopped")

// taskLoop is an event loop without sockets of its own, for connections
// gnet cannot carry: gnet reads raw descriptors, and TLS needs crypto/tls
// over a net.Conn. One goroutine runs the tasks posted to it, in order:
// reads handed over by each TLS connection's reader goroutine (tlsconn.go),
// and the shard's ticks and commands. So a loop's state is touched by one
// goroutine, as on gnet's loops, and the same code drives both.
type taskLoop struct {
	tasks    chan func()
	stop     chan struct{} // closed by close: no task runs after it
	done     chan struct{} // closed when the goroutine has returned
	stopOnce sync.Once
}

// taskQueue bounds the tasks waiting for a loop; a poster beyond it waits,
// so a busy loop slows its readers instead of queueing without bound.
const taskQueue = 1024

func startTaskLoop() *taskLoop {
	t := &taskLoop{tasks: make(chan func(), taskQueue), stop: make(chan struct{}), done: make(chan struct{})}
	go t.run()
	return t
}

func (t *taskLoop) run() {
	defer close(t.done)
	for {
		select {
		case f := <-t.tasks:
			f()
		case <-t.stop:
			return
		}
	}
}

// Execute runs r on the loop, as gnet.EventLoop.Execute does. Any goroutine.
func (t *taskLoop) Execute(ctx context.Context, r gnet.Runnable) error {
	return t.post(ctx, func() { _ = r.Run(ctx) })
}

// post queues f; it fails once the loop has stopped or ctx ends.
func (t *taskLoop) post(ctx context.Context, f func()) error {
	select {
	case <-t.stop:
		return errLoopStopped
	default:
	}
	select {
	case t.tasks <- f:
		return nil
	case <-t.stop:
		return errLoopStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops the loop and waits for the task running, if any. Tasks still
// queued never run.
func (t *taskLoop) close() {
	t.stopOnce.Do(func() { close(t.stop) })
	<-t.done
}
