//go:build race

package wsproto

// raceEnabled: under the race detector sync.Pool drops a share of what is
// put back, on purpose, so pooled paths allocate and budgets are skipped.
const raceEnabled = true
