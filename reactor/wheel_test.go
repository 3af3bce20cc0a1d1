package reactor

import (
	"math/rand/v2"
	"testing"
)

// TestWheelFiresEachTimerAtItsTickAndWakesInTime drives the wheel with
// random schedules, reschedules and removals over deadlines from the next
// tick to past the far horizon, against a plain map of deadlines: every
// timer fires exactly at its tick, none fires after removal, and the wake
// tick the ticker reads is never later than the earliest deadline.
func TestWheelFiresEachTimerAtItsTickAndWakesInTime(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		rng := rand.New(rand.NewPCG(seed, seed))
		var w wheel
		w.now = uint32(rng.IntN(1 << 20)) // any phase within a block
		w.settle()
		conns := make([]*conn, 300)
		for i := range conns {
			conns[i] = &conn{}
		}
		want := map[*conn]uint32{}
		horizons := []uint32{3, fineSlots, fineSlots * coarseSlots, 3 * fineSlots * coarseSlots}
		schedule := func(c *conn) {
			at := w.now + 1 + uint32(rng.IntN(int(horizons[rng.IntN(len(horizons))])))
			w.schedule(c, at)
			want[c] = at
		}
		for _, c := range conns {
			schedule(c)
		}
		const steps = 200_000
		for step := 0; step < steps+len(horizons)*fineSlots*coarseSlots && len(want) > 0; step++ {
			churn := step < steps // then let every timer run out
			if len(want) > 0 {
				earliest := w.now + never
				for _, at := range want {
					if int32(at-earliest) < 0 {
						earliest = at
					}
				}
				if wake := w.wake.Load(); int32(wake-earliest) > 0 {
					t.Fatalf("seed %d tick %d: wake %d is after the earliest deadline %d", seed, w.now, wake, earliest)
				}
			}
			switch r := rng.IntN(100); {
			case !churn:
			case r < 2:
				c := conns[rng.IntN(len(conns))]
				w.remove(c)
				delete(want, c)
			case r < 5:
				schedule(conns[rng.IntN(len(conns))])
			}
			w.advance(func(c *conn) {
				at, ok := want[c]
				if !ok {
					t.Fatalf("seed %d: a removed or fired timer fired at tick %d", seed, w.now)
				}
				if at != w.now {
					t.Fatalf("seed %d: timer due at %d fired at %d", seed, at, w.now)
				}
				delete(want, c)
				if churn && rng.IntN(2) == 0 {
					schedule(c)
				}
			})
			w.settle()
		}
		if len(want) > 0 {
			t.Fatalf("seed %d: %d timers never fired", seed, len(want))
		}
	}
}

// TestWheelWithNothingDueDoesNotAskForTicks shows an idle wheel is flat in
// the tick: with every deadline an hour of 10 ms ticks away, the wheel
// asks to be woken once per block (to pour the next one) or less, not
// every tick.
func TestWheelWithNothingDueDoesNotAskForTicks(t *testing.T) {
	var w wheel
	w.settle()
	conns := make([]*conn, 10_000)
	for i := range conns {
		conns[i] = &conn{}
		w.schedule(conns[i], uint32(360_000+i*7)) // an hour of 10 ms ticks, spread
	}
	w.settle()
	wakes, fired := 0, 0
	const ticks = 200_000
	for w.now < ticks {
		if int32(w.now+1-w.wake.Load()) >= 0 { // the ticker would post the next tick
			wakes++
		}
		w.advance(func(*conn) { fired++ })
		w.settle()
	}
	if fired != 0 {
		t.Fatalf("%d timers fired before their deadline", fired)
	}
	if limit := ticks/fineSlots + 2; wakes > limit {
		t.Fatalf("the wheel asked for %d ticks in %d with nothing due; want at most one a block (%d)", wakes, ticks, limit)
	}
}
