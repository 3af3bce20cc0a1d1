package presence

import "sync/atomic"

// Stats are a store's numbers. Members, Watches and Queued are gauges, the
// rest counters (they only grow). Each field is named once: its json tag
// is its key in the admin API, its metric and help tags its Prometheus
// series (the admin package's snapshot collector reads them).
type Stats struct {
	Members int64 `json:"members" metric:"wsgate_presence_members,gauge" help:"Presence members joined through this node."`
	Watches int64 `json:"watches" metric:"wsgate_presence_watches,gauge" help:"Channels whose presence events this node watches."`
	Queued  int64 `json:"queued" metric:"wsgate_presence_queued,gauge" help:"Presence writes (NATS) or events (local) waiting in the queue."`
	Joins   int64 `json:"joins" metric:"wsgate_presence_joins_total,counter" help:"Members joined through this node."`
	Leaves  int64 `json:"leaves" metric:"wsgate_presence_leaves_total,counter" help:"Members left through this node."`
	Events  int64 `json:"events" metric:"wsgate_presence_events_total,counter" help:"Join and leave events handed to the gateway."`
	Dropped int64 `json:"dropped" metric:"wsgate_presence_dropped_total,counter" help:"Presence writes or events dropped because a queue was full."`
	Errors  int64 `json:"errors" metric:"wsgate_presence_errors_total,counter" help:"Invalid members refused, and failed presence writes and reads."`
	Expired int64 `json:"expired" metric:"wsgate_presence_expired_total,counter" help:"Members removed by this node because their node died."`
}

// counters are the Stats counters, updated atomically from any goroutine.
type counters struct {
	joins, leaves, events, dropped, errors, expired atomic.Int64
}

// snapshot fills the counters of a Stats; the caller adds the gauges.
func (c *counters) snapshot() Stats {
	return Stats{
		Joins:   c.joins.Load(),
		Leaves:  c.leaves.Load(),
		Events:  c.events.Load(),
		Dropped: c.dropped.Load(),
		Errors:  c.errors.Load(),
		Expired: c.expired.Load(),
	}
}
