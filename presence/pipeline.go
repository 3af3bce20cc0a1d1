package presence

import (
	"encoding/json"
	"errors"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// pipelineDepth is how many writes a pipeline sends before it waits for
// their acknowledgements.
const pipelineDepth = 1024

// KV's wire format (NATS ADR-8): a put is a plain message on
// "$KV.<bucket>.<key>"; a purge is one with these headers, which makes it
// replace every earlier revision of the key. The store writes them itself
// so that it can send many and wait for their acknowledgements once
// (jetstream's KeyValue.Put waits for each).
const (
	kvOperationHeader = "KV-Operation"
	kvOperationPurge  = "PURGE"
)

// noRetry keeps a write that met no JetStream responder from being sent
// again later, behind writes sent after it: a retried join could land
// after its leave. The write fails instead, and the store repairs it.
var noRetry = jetstream.WithRetryAttempts(0)

// pipeline sends KV writes asynchronously and waits for them in bulk. It
// belongs to one goroutine. A write's outcome is counted in ok, mismatch
// (a purge whose expected revision was not the key's) or failed.
type pipeline struct {
	js     jetstream.JetStream
	prefix string          // "$KV.<bucket>."
	stop   <-chan struct{} // abandons the wait for acknowledgements
	futs   []jetstream.PubAckFuture

	ok, mismatch, failed int
}

func newPipeline(js jetstream.JetStream, bucket string, stop <-chan struct{}) *pipeline {
	return &pipeline{js: js, prefix: "$KV." + bucket + ".", stop: stop, futs: make([]jetstream.PubAckFuture, 0, pipelineDepth)}
}

// full reports whether the pipeline should be flushed before more writes.
func (p *pipeline) full() bool { return len(p.futs) >= pipelineDepth }

// put writes m under key.
func (p *pipeline) put(key string, m Member) {
	data, err := json.Marshal(m)
	if err != nil { // a Member always marshals; kept for the error's sake
		p.failed++
		return
	}
	p.send(&nats.Msg{Subject: p.prefix + key, Data: data}, noRetry)
}

// purge removes key, leaving a marker that carries m (so watchers learn
// who left) and expires after leaveMarkerTTL. A non-zero revision makes
// it conditional: it fails (mismatch) unless the key's latest revision
// is still that one.
func (p *pipeline) purge(key string, m Member, revision uint64) {
	data, err := json.Marshal(m)
	if err != nil {
		p.failed++
		return
	}
	msg := nats.NewMsg(p.prefix + key)
	msg.Data = data
	msg.Header.Set(kvOperationHeader, kvOperationPurge)
	msg.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
	opts := []jetstream.PublishOpt{noRetry, jetstream.WithMsgTTL(leaveMarkerTTL)}
	if revision != 0 {
		opts = append(opts, jetstream.WithExpectLastSequencePerSubject(revision))
	}
	p.send(msg, opts...)
}

func (p *pipeline) send(msg *nats.Msg, opts ...jetstream.PublishOpt) {
	fut, err := p.js.PublishMsgAsync(msg, opts...)
	if err != nil {
		p.failed++
		return
	}
	p.futs = append(p.futs, fut)
}

// flush waits for every write sent (each resolves within the JetStream
// context's async timeout) and counts their outcomes. When stop closes,
// the writes still waiting count as failed.
func (p *pipeline) flush() {
	for i, fut := range p.futs {
		select {
		case <-fut.Ok():
			p.ok++
		case err := <-fut.Err():
			if isWrongLastSequence(err) {
				p.mismatch++
			} else {
				p.failed++
			}
		case <-p.stop:
			p.failed += len(p.futs) - i
			clear(p.futs)
			p.futs = p.futs[:0]
			return
		}
	}
	clear(p.futs)
	p.futs = p.futs[:0]
}

// reset zeroes the counts.
func (p *pipeline) reset() { p.ok, p.mismatch, p.failed = 0, 0, 0 }

// isWrongLastSequence reports whether err is JetStream's refusal of a
// write whose expected last revision was not the key's.
func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) &&
		(apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}
