package admin

import (
	"context"
	"errors"
	"math"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/wsgate/wsgate/reactor"
)

// The HAProxy agent-check responder (--agent-listen). HAProxy connects to
// the agent port of each server every agent-inter, reads one line and
// applies it: "up 73%" sets the server's weight to 73% of its configured
// weight, "drain" sets it to 0, so balance leastconn stops choosing the
// node while its connections stay. wsgate answers:
//
//   - "drain" while the node drains (Ready fails): the balancer stops
//     sending new clients before the drain's 1001 closes make them
//     reconnect, so they reconnect elsewhere at once.
//   - otherwise "up N%": N is 100 less the node's load in percent, at
//     least 1 (0 would drain it). The load is the larger of the
//     upgraded connections against MaxConns and the worst loop lag
//     against AgentLagBudget: a node whose loops fall behind looks full
//     even when it holds few connections.
//
// The responder is bounded: AgentMaxConns answered at once (more are
// closed unanswered: HAProxy counts that as a failed check, not a state
// change), each with AgentTimeout to take its line.

const (
	// AgentLagBudget is the loop lag at which a node reports itself full.
	AgentLagBudget = 100 * time.Millisecond
	// AgentMaxConns bounds the agent connections answered at once.
	AgentMaxConns = 16
	// AgentTimeout bounds one answer's write.
	AgentTimeout = time.Second
)

// AgentLine is the agent-check answer for a node: its readiness and load.
func AgentLine(ready error, upgraded int64, maxConns int, lag time.Duration) string {
	if ready != nil {
		return "drain\n"
	}
	load := 0.0
	if maxConns > 0 {
		load = float64(upgraded) / float64(maxConns)
	}
	load = max(load, lag.Seconds()/AgentLagBudget.Seconds())
	weight := int(math.Round(100 * (1 - min(load, 1))))
	return "up " + strconv.Itoa(max(weight, 1)) + "%\n"
}

// ServeAgent answers agent checks on ln for eng until ctx ends or ln
// fails; it closes ln and waits for the answers in progress.
func ServeAgent(ctx context.Context, ln net.Listener, eng *reactor.Engine) error {
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, AgentMaxConns)
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		select {
		case slots <- struct{}{}:
		default:
			_ = c.Close() // a flood: HAProxy sees one failed check
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			answerAgent(c, eng)
		}()
	}
}

func answerAgent(c net.Conn, eng *reactor.Engine) {
	defer c.Close()
	st := eng.Stats()
	line := AgentLine(eng.Ready(), st.Upgraded, eng.Config().MaxConns, time.Duration(st.LoopLagSeconds*float64(time.Second)))
	_ = c.SetWriteDeadline(time.Now().Add(AgentTimeout))
	_, _ = c.Write([]byte(line))
}
