package presence

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// listTimeout bounds a List or Count whose context has no deadline.
const listTimeout = 30 * time.Second

// List returns a page of channel's members on live nodes. It reads every
// key of the channel once (one ordered consumer, the values of the
// candidates only decoded) and keeps limit+1 members: O(members) time and
// bus traffic, O(limit) memory. Members of a node that died are left out
// from the moment this node's view drops it, before the janitor removes
// them. It fails at once with ErrUnavailable while NATS is unreachable.
func (n *NATS) List(ctx context.Context, channel string, after string, limit int) (Page, error) {
	ctx, cancel, err := n.readContext(ctx, channel, limit)
	if err != nil {
		return Page{}, err
	}
	defer cancel()
	live := n.view.live(time.Now())
	b := newPageBuilder(after, limit)
	err = scan(ctx, n.members, channelFilter(channel), false, func(e jetstream.KeyValueEntry) error {
		_, conn, node, ok := splitKey(e.Key())
		if !ok || !live[node] || !b.wants(conn) {
			return nil
		}
		var m Member
		if json.Unmarshal(e.Value(), &m) != nil || m.Conn != conn {
			n.stats.errors.Add(1) // not written by this package
			return nil
		}
		b.add(m)
		return nil
	})
	if err != nil {
		n.stats.errors.Add(1)
		return Page{}, fmt.Errorf("presence: list %q: %w", channel, err)
	}
	return b.page(), nil
}

// Count returns the number of channel's members on live nodes. It reads
// the channel's keys without their values.
func (n *NATS) Count(ctx context.Context, channel string) (int, error) {
	ctx, cancel, err := n.readContext(ctx, channel, 1)
	if err != nil {
		return 0, err
	}
	defer cancel()
	live := n.view.live(time.Now())
	count := 0
	err = scan(ctx, n.members, channelFilter(channel), true, func(e jetstream.KeyValueEntry) error {
		if _, _, node, ok := splitKey(e.Key()); ok && live[node] {
			count++
		}
		return nil
	})
	if err != nil {
		n.stats.errors.Add(1)
		return 0, fmt.Errorf("presence: count %q: %w", channel, err)
	}
	return count, nil
}

// readContext checks a List's or Count's arguments and the store's state,
// and bounds ctx by listTimeout when it has no deadline.
func (n *NATS) readContext(ctx context.Context, channel string, limit int) (context.Context, context.CancelFunc, error) {
	if err := checkList(ctx, channel, limit); err != nil {
		return nil, nil, err
	}
	switch {
	case n.closed.Load():
		return nil, nil, ErrClosed
	case !n.nc.IsConnected():
		return nil, nil, ErrUnavailable
	}
	if _, ok := ctx.Deadline(); ok {
		ctx, cancel := context.WithCancel(ctx)
		return ctx, cancel, nil
	}
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	return ctx, cancel, nil
}
