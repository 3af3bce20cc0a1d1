package hook

import "sync/atomic"

// Stats are a Client's counters since New; every field but Queue only
// grows.
type Stats struct {
	ConnectCalls  int64 `json:"connect_calls" metric:"wsgate_hook_connect_calls_total,counter" help:"Connect hook calls made."`                       // connect calls made (given a slot)
	ConnectDenied int64 `json:"connect_denied" metric:"wsgate_hook_connect_denied_total,counter" help:"Connect hook calls the backend denied."`       // denied by the backend's answer
	ConnectFailed int64 `json:"connect_failed" metric:"wsgate_hook_connect_failed_total,counter" help:"Connect hook calls that failed or timed out."` // failed (Err set), whatever FailOpen decided
	Busy          int64 `json:"busy" metric:"wsgate_hook_busy_total,counter" help:"Hook calls refused because every call slot was busy."`             // calls of any kind refused for lack of a slot

	PublishCalls  int64 `json:"publish_calls" metric:"wsgate_hook_publish_calls_total,counter" help:"Publish hook calls made."`
	PublishDenied int64 `json:"publish_denied" metric:"wsgate_hook_publish_denied_total,counter" help:"Publish hook calls the backend denied."`
	PublishFailed int64 `json:"publish_failed" metric:"wsgate_hook_publish_failed_total,counter" help:"Publish hook calls that failed or timed out."`

	MessageCalls  int64 `json:"message_calls" metric:"wsgate_hook_message_calls_total,counter" help:"Message hook calls made."`
	MessageFailed int64 `json:"message_failed" metric:"wsgate_hook_message_failed_total,counter" help:"Message hook calls that failed or timed out."`

	EventsQueued  int64 `json:"events_queued" metric:"wsgate_hook_events_queued_total,counter" help:"Hook events queued for the backend."`                                  // accepted by Emit
	EventsSent    int64 `json:"events_sent" metric:"wsgate_hook_events_sent_total,counter" help:"Hook events the backend acknowledged."`                                    // in a batch the backend answered 2xx
	EventsDropped int64 `json:"events_dropped" metric:"wsgate_hook_events_dropped_total,counter" help:"Hook events dropped: the queue was full or the node stopped first."` // refused by Emit, or still queued when Close gave up
	BatchRetries  int64 `json:"batch_retries" metric:"wsgate_hook_batch_retries_total,counter" help:"Failed hook event batches, each retried."`                             // failed batch POSTs (each retried)
	Queue         int64 `json:"queue" metric:"wsgate_hook_queue,gauge" help:"Hook events waiting for the backend."`                                                         // gauge: events waiting now, the batch being sent included
}

// counters are Stats as the Client keeps them.
type counters struct {
	connectCalls, connectDenied, connectFailed, busy atomic.Int64
	publishCalls, publishDenied, publishFailed       atomic.Int64
	messageCalls, messageFailed                      atomic.Int64
	eventsQueued, eventsSent, eventsDropped          atomic.Int64
	batchRetries                                     atomic.Int64
}

// Stats returns the counters. It never blocks for long (the queue's lock,
// held only for a few operations) and may be called from any goroutine.
func (c *Client) Stats() Stats {
	c.events.mu.Lock()
	queue := len(c.events.waiting) + c.events.sending
	c.events.mu.Unlock()
	s := &c.stats
	return Stats{
		ConnectCalls:  s.connectCalls.Load(),
		ConnectDenied: s.connectDenied.Load(),
		ConnectFailed: s.connectFailed.Load(),
		Busy:          s.busy.Load(),
		PublishCalls:  s.publishCalls.Load(),
		PublishDenied: s.publishDenied.Load(),
		PublishFailed: s.publishFailed.Load(),
		MessageCalls:  s.messageCalls.Load(),
		MessageFailed: s.messageFailed.Load(),
		EventsQueued:  s.eventsQueued.Load(),
		EventsSent:    s.eventsSent.Load(),
		EventsDropped: s.eventsDropped.Load(),
		BatchRetries:  s.batchRetries.Load(),
		Queue:         int64(queue),
	}
}
