package bench

import (
	"math/rand/v2"
	"time"
)

// maxRedialDelay spreads the reconnects of a dead node's subscribers, as
// clients with jittered backoff spread theirs.
const maxRedialDelay = 2 * time.Second

// redial replaces a stable subscriber the server dropped (Plan.Reconnect):
// after a random delay of up to maxRedialDelay, a new connection to
// another URL, picked at random, subscribes to the same channel. The replacement is not stable:
// what it receives is counted, and its own gaps as lost in churned
// subscribers, but the stable subscribers' losses are those of the ones
// that stayed connected (ShardResult.LostSurvivors). Runs on c's loop.
func (s *Shard) redial(c *conn) {
	s.redials.Add(1)
	n := uint64(max(s.plan.Channels, 1))
	// The new number keeps the channel (id mod channels) and is unique in
	// this shard.
	id := reconnectIDBase/n*n + s.redials.Load()*n + uint64(max(s.channelOf(c.id), 0))
	job := dialJob{id: id, target: otherTarget(int(c.target), len(s.plan.Targets)), retarget: true}
	time.AfterFunc(rand.N(maxRedialDelay), func() {
		job.intended = time.Now().UnixNano()
		select {
		case s.jobs <- job:
		case <-s.ctx.Done():
		}
	})
}

// otherTarget picks one of n targets other than dead, at random, so a dead
// node's clients spread over the others (all to the next one overran its
// --max-conns in the million-connection run); dead itself when it is the
// only one.
func otherTarget(dead, n int) int {
	if n < 2 {
		return dead
	}
	t := rand.N(n - 1)
	if t >= dead {
		t++
	}
	return t
}
