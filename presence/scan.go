package presence

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// errWatcherClosed: a KV watcher's updates ended before its initial
// values did (the connection closed).
var errWatcherClosed = errors.New("presence: KV watcher closed")

// watchTimeout bounds creating a KV watcher.
const watchTimeout = 5 * time.Second

// watch starts a KV watcher on filter that lives until cancel (or
// parent's end), however long it takes to create. nats.go ties a
// watcher's subscription to the context it was created with (a goroutine
// unsubscribes it when the context ends), so a context with a deadline
// would end the watcher at that deadline: creation is bounded by a timer
// instead, which cancels only if creation is still under way.
func watch(parent context.Context, kv jetstream.KeyValue, filter string, opts ...jetstream.WatchOpt) (jetstream.KeyWatcher, context.CancelFunc, error) {
	ctx, cancel := context.WithCancel(parent)
	timer := time.AfterFunc(watchTimeout, cancel)
	w, err := kv.Watch(ctx, filter, opts...)
	if !timer.Stop() && err == nil {
		err = context.DeadlineExceeded // created, but canceled at the deadline
		stopWatcher(w)
	}
	if err != nil {
		cancel()
		return nil, nil, err
	}
	return w, cancel, nil
}

// stopWatcher stops w and reads what is left of its updates until nats.go
// closes them: its subscription's callback sends each entry on the
// updates channel holding the watcher's lock, so a watcher stopped while
// an entry waits would block that callback (and the close that follows)
// forever.
func stopWatcher(w jetstream.KeyWatcher) {
	_ = w.Stop()
	go func() {
		for range w.Updates() {
		}
	}()
}

// scan calls f with the current entry of each key of kv matching filter,
// deleted keys left out, until f returns an error (returned as is), the
// keys end (nil), or ctx ends. metaOnly leaves the values out.
//
// It reads a KV watcher's initial values (an ordered consumer delivering
// the last message of each subject) as they come: the entries are not
// collected, and JetStream's flow control holds the server back while f
// works, so memory stays bounded whatever the number of keys. The keys
// come in the order they were last written, not sorted.
func scan(ctx context.Context, kv jetstream.KeyValue, filter string, metaOnly bool, f func(jetstream.KeyValueEntry) error) error {
	opts := []jetstream.WatchOpt{jetstream.IgnoreDeletes()}
	if metaOnly {
		opts = append(opts, jetstream.MetaOnly())
	}
	w, cancel, err := watch(ctx, kv, filter, opts...)
	if err != nil {
		return err
	}
	defer cancel()
	defer stopWatcher(w)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-w.Updates():
			switch {
			case !ok:
				return errWatcherClosed
			case e == nil: // the initial values are done
				return nil
			}
			if err := f(e); err != nil {
				return err
			}
		}
	}
}
