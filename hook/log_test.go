package hook

import (
	"testing"
	"time"
)

func TestEveryLetsOneThroughPerPeriod(t *testing.T) {
	var e every
	now := time.Unix(1700000000, 0)
	for _, step := range []struct {
		at   time.Duration
		want bool
	}{
		{0, true}, {0, false}, {logPeriod - time.Nanosecond, false}, {logPeriod, true}, {logPeriod + time.Second, false}, {3 * logPeriod, true},
	} {
		if got := e.allow(now.Add(step.at), logPeriod); got != step.want {
			t.Errorf("allow at +%s = %v, want %v", step.at, got, step.want)
		}
	}
}
