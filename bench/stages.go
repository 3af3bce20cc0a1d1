package bench

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RampStage is one step of a staged ramp: connections opened at Rate per
// second For a while. After the last stage the ramp goes on at its rate
// until every planned connection is dialled.
type RampStage struct {
	Rate float64       `json:"rate"`
	For  time.Duration `json:"for"`
}

// ParseRampStages reads "RATE/s:DURATION,…", for example
// "500/s:10s,2000/s:30s": 500 connections a second for 10 s, then 2,000.
func ParseRampStages(spec string) ([]RampStage, error) {
	var out []RampStage
	for _, part := range strings.Split(spec, ",") {
		rate, dur, ok := strings.Cut(strings.TrimSpace(part), ":")
		digits, perSecond := strings.CutSuffix(rate, "/s")
		r, err := strconv.ParseFloat(digits, 64)
		if !ok || !perSecond || err != nil || r <= 0 || r > 1e7 {
			return nil, fmt.Errorf("ramp stage %q: want RATE/s:DURATION with a rate above 0, e.g. 500/s:10s", part)
		}
		d, err := time.ParseDuration(dur)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("ramp stage %q: bad duration", part)
		}
		out = append(out, RampStage{Rate: r, For: d})
	}
	if len(out) > 100 {
		return nil, fmt.Errorf("ramp: %d stages, at most 100", len(out))
	}
	return out, nil
}

// dialOffset is when connection k (0-based) of a ramp is due, from the
// ramp's start: along the stages, or at rate without them (0: at once).
func dialOffset(k int, rate float64, stages []RampStage) time.Duration {
	secs := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	if len(stages) == 0 {
		if rate <= 0 {
			return 0
		}
		return secs(float64(k) / rate)
	}
	var at time.Duration
	left := float64(k)
	for i, s := range stages {
		n := s.Rate * s.For.Seconds()
		if left < n || i == len(stages)-1 {
			return at + secs(left/s.Rate)
		}
		left -= n
		at += s.For
	}
	return at
}
