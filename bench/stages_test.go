package bench

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestDialOffsetFollowsTheStages(t *testing.T) {
	stages, err := ParseRampStages("10/s:2s, 100/s:1s")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		k    int
		want time.Duration
	}{
		{0, 0}, {10, time.Second}, {20, 2 * time.Second}, // the first stage holds 20
		{70, 2500 * time.Millisecond}, {120, 3 * time.Second}, // the second 100
		{220, 4 * time.Second}, // then on at the last rate
	} {
		if got := dialOffset(c.k, 0, stages); got != c.want {
			t.Errorf("connection %d due at %v, want %v", c.k, got, c.want)
		}
	}
	if got := dialOffset(50, 100, nil); got != 500*time.Millisecond {
		t.Errorf("without stages: %v, want 500ms at 100/s", got)
	}
	for _, bad := range []string{"", "10:1s", "0/s:1s", "-5/s:1s", "10/s:0s", "10/s:", "x/s:1s"} {
		if _, err := ParseRampStages(bad); err == nil {
			t.Errorf("ParseRampStages(%q) accepted", bad)
		}
	}
}

// TestArrivalGaps: at 200 sessions a second the gaps average 5 ms either
// way; evenly spaced they do not vary, as a Poisson process their standard
// deviation is their mean (an exponential's).
func TestArrivalGaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, poisson := range []bool{false, true} {
		const n = 20000
		var sum, sq float64
		for range n {
			g := arrivalGap(200, poisson, rng.ExpFloat64).Seconds()
			sum, sq = sum+g, sq+g*g
		}
		mean := sum / n
		sd := math.Sqrt(sq/n - mean*mean)
		wantSD := 0.0
		if poisson {
			wantSD = 0.005
		}
		if math.Abs(mean-0.005) > 0.0002 || math.Abs(sd-wantSD) > 0.0003 {
			t.Errorf("poisson=%v: mean %.5f s, sd %.5f s; want 0.005 and %.3f", poisson, mean, sd, wantSD)
		}
	}
}

// TestDialersSendNoKeepAlive: every dialer turns TCP keep-alive off (Go's
// default probes every 15 s, a load of its own at scale).
func TestDialersSendNoKeepAlive(t *testing.T) {
	ips, err := ParseSourceIPs("127.0.0.2-127.0.0.4")
	if err != nil {
		t.Fatal(err)
	}
	for _, plan := range []Plan{{}, {SourceIPs: ips}} {
		for i, d := range makeDialers(plan) {
			if d.KeepAlive >= 0 {
				t.Errorf("dialer %d of %d source addresses: KeepAlive %v, want off (negative)", i, len(plan.SourceIPs), d.KeepAlive)
			}
		}
	}
}

// TestRedialsSpreadOverTheOtherTargets: a dead node's clients redial every
// other node, never the dead one.
func TestRedialsSpreadOverTheOtherTargets(t *testing.T) {
	seen := map[int]int{}
	for range 5000 {
		seen[otherTarget(3, 6)]++
	}
	if seen[3] != 0 || len(seen) != 5 {
		t.Fatalf("redials went to %v: want the 5 other targets, never 3", seen)
	}
	if otherTarget(0, 1) != 0 {
		t.Fatal("a single target must be redialled")
	}
}
