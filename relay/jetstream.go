package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStream history. One stream (NATSConfig.Stream) holds every channel's
// publications, on subject <HistorySubject>.<channel>, at most History.Size
// per channel (MaxMsgsPerSubject), History.TTL old and History.MaxBytes in
// all. A publication's offset is its stream sequence.
//
// The stream republishes each stored publication on
// <LiveSubject>.<channel>, with its sequence and the channel's previous
// one (Nats-Sequence, Nats-Last-Sequence): that is the live feed every
// node subscribes to for its channels, the origin node included, so every
// node delivers a channel's publications in stream order with the offsets
// a resume needs. Reads use JetStream's direct get, which any replica
// answers.
const (
	DefaultStream         = "WSGATE_HISTORY"
	DefaultHistorySubject = "wsgate.hist"
	DefaultLiveSubject    = "wsgate.live"
	// streamSetupTimeout bounds creating or updating the stream.
	streamSetupTimeout = 10 * time.Second
	// asyncAckTimeout is how long a publication sent to JetStream by the
	// bus goroutine may wait for its acknowledgement before it counts as
	// lost.
	asyncAckTimeout = 10 * time.Second
	// maxAsyncPending bounds the publications sent to JetStream and not
	// yet acknowledged.
	maxAsyncPending = 4096
)

// jsHistory is the NATS relay's JetStream side.
type jsHistory struct {
	cfg     HistoryConfig
	js      jetstream.JetStream
	ready   atomic.Bool // every stream exists as configured (set by the bus goroutine)
	streams []*jsStream // [0]: channels no namespace matches; [i+1]: namespace i; nil without history
}

// jsStream is one stream of history: the default's or a namespace's.
type jsStream struct {
	name, stored, live string // stream name, subject prefixes (without the trailing dot)
	size               int
	ttl                time.Duration
	epoch              atomic.Pointer[string]
}

func newJSHistory(cfg NATSConfig, js jetstream.JetStream) *jsHistory {
	h := &jsHistory{cfg: cfg.History, js: js}
	if cfg.History.Size > 0 {
		h.streams = append(h.streams, &jsStream{name: cfg.Stream, stored: cfg.HistorySubject, live: cfg.LiveSubject, size: cfg.History.Size, ttl: cfg.History.TTL})
	} else {
		h.streams = append(h.streams, nil)
	}
	for _, n := range cfg.History.Namespaces {
		if n.Size == 0 {
			h.streams = append(h.streams, nil)
			continue
		}
		h.streams = append(h.streams, &jsStream{
			name:   cfg.Stream + "_" + strings.ToUpper(n.Name),
			stored: cfg.HistorySubject + "-" + n.Name,
			live:   cfg.LiveSubject + "-" + n.Name,
			size:   n.Size, ttl: n.TTL,
		})
	}
	return h
}

// streamOf is the stream that keeps channel's history, or nil.
func (r *NATS) streamOf(channel string) *jsStream {
	if r.hist == nil {
		return nil
	}
	ns, _, _ := r.hist.cfg.policy(channel)
	return r.hist.streams[ns+1]
}

// setupStream creates or updates the history streams. The bus goroutine
// calls it on every (re)connection, and until it succeeds.
func (r *NATS) setupStream() {
	h := r.hist
	if h == nil || h.ready.Load() {
		return
	}
	for _, st := range h.streams {
		if st != nil && !r.setupOne(st) {
			return
		}
	}
	h.ready.Store(true)
}

func (r *NATS) setupOne(st *jsStream) bool {
	h := r.hist
	ctx, cancel := context.WithTimeout(context.Background(), streamSetupTimeout)
	defer cancel()
	dedup := h.cfg.DedupWindow
	if st.ttl > 0 {
		dedup = min(dedup, st.ttl) // JetStream keeps no key longer than its message
	}
	cfg := jetstream.StreamConfig{
		Name:              st.name,
		Subjects:          []string{st.stored + ".>"},
		Storage:           jetstream.FileStorage,
		Replicas:          h.cfg.Replicas,
		MaxMsgsPerSubject: int64(st.size),
		MaxAge:            st.ttl,
		MaxBytes:          h.cfg.MaxBytes,
		Discard:           jetstream.DiscardOld,
		Duplicates:        dedup,
		AllowDirect:       true,
		RePublish:         &jetstream.RePublish{Source: st.stored + ".>", Destination: st.live + ".>"},
	}
	s, err := h.js.CreateOrUpdateStream(ctx, cfg)
	if err != nil {
		r.cfg.Logger.Error("JetStream: cannot create or update a history stream; history publications wait", "stream", cfg.Name, "err", err)
		return false
	}
	st.setEpoch(s.CachedInfo().Created)
	r.cfg.Logger.Info("JetStream history stream ready", "stream", cfg.Name, "size", st.size, "ttl", st.ttl, "replicas", h.cfg.Replicas)
	return true
}

// setEpoch derives the epoch from the stream's creation time: a stream
// deleted and created again (its history lost) has a new one.
func (st *jsStream) setEpoch(created time.Time) {
	e := strconv.FormatInt(created.UnixNano(), 36)
	st.epoch.Store(&e)
}

func (st *jsStream) currentEpoch() string {
	if e := st.epoch.Load(); e != nil {
		return *e
	}
	return ""
}

// Retains reports whether channel keeps history (its namespace's size, or
// the default's, is not 0).
func (r *NATS) Retains(channel string) bool { return r.streamOf(channel) != nil }

// msgID scopes an idempotency key to its channel.
func msgID(channel, key string) string {
	if key == "" {
		return ""
	}
	return channel + "\x00" + key
}

// Store publishes to JetStream and waits for its acknowledgement (bounded
// by ctx). A key JetStream has seen within the dedup window returns the
// first publication's offset.
func (r *NATS) Store(ctx context.Context, channel string, data []byte, key string) (Position, error) {
	st := r.streamOf(channel)
	if st == nil {
		return Position{}, r.Publish(channel, data, key)
	}
	if !r.started.Load() {
		return Position{}, ErrNotStarted
	}
	if r.closed.Load() {
		return Position{}, ErrClosed
	}
	m := &nats.Msg{Subject: st.stored + "." + channel, Data: data}
	var opts []jetstream.PublishOpt
	if id := msgID(channel, key); id != "" {
		opts = append(opts, jetstream.WithMsgID(id))
	}
	ack, err := r.hist.js.PublishMsg(ctx, m, opts...)
	if err != nil {
		r.refused.Add(1)
		return Position{}, fmt.Errorf("relay: JetStream publish: %w", err)
	}
	r.messagesOut.Add(1)
	r.bytesOut.Add(int64(len(data)))
	epoch := st.currentEpoch()
	if epoch == "" {
		// Stored before the bus goroutine has read the new stream's
		// creation time: read it here.
		s, err := r.hist.js.Stream(ctx, st.name)
		if err != nil {
			return Position{}, fmt.Errorf("relay: history stream: %w", err)
		}
		st.setEpoch(s.CachedInfo().Created)
		epoch = st.currentEpoch()
	}
	return Position{Offset: ack.Sequence, Epoch: epoch}, nil
}

// Read answers from the stream with direct gets: the stream's state, the
// channel's last publication, then a batch after since.
func (r *NATS) Read(ctx context.Context, channel string, since *Position, limit, maxBytes int) (Page, error) {
	st := r.streamOf(channel)
	if st == nil {
		return Page{}, ErrNoHistory
	}
	s, err := r.hist.js.Stream(ctx, st.name)
	if err != nil {
		return Page{}, fmt.Errorf("relay: history stream: %w", err)
	}
	info := s.CachedInfo()
	st.setEpoch(info.Created)
	epoch := st.currentEpoch()
	subject := st.stored + "." + channel
	var p Page
	last, err := r.directGet(ctx, st.name, map[string]any{"last_by_subj": subject})
	switch {
	case err == nil:
		p.Position = Position{Offset: last, Epoch: epoch}
	case errors.Is(err, errNoMessage):
		// None retained: the stream's position stands for the channel's.
		p.Position = Position{Offset: info.State.LastSeq, Epoch: epoch}
	default:
		return Page{}, err
	}
	from := uint64(1)
	if since != nil && since.Epoch == epoch && since.Offset <= p.Position.Offset {
		// Nothing of the channel after since was lost when the stream
		// still holds the channel's publication at since (every limit
		// drops a channel's publications oldest first); or when it holds
		// none after since and none could have been dropped: a
		// publication after since would be retained (MaxMsgsPerSubject
		// drops only for a newer one) unless the stream's own oldest-first
		// limits (age, bytes) had passed since, or nothing was published
		// after since at all. Otherwise the answer is no, even when
		// nothing was missed: JetStream keeps no per-channel count to
		// prove it.
		first, err := r.directGet(ctx, st.name, map[string]any{"seq": max(since.Offset, 1), "next_by_subj": subject})
		switch {
		case err == nil:
			p.Recovered = first == since.Offset
		case errors.Is(err, errNoMessage):
			p.Recovered = info.State.FirstSeq <= since.Offset+1 || since.Offset >= info.State.LastSeq
		default:
			return Page{}, err
		}
		if p.Recovered {
			from = since.Offset + 1
		}
	}
	if limit <= 0 {
		return p, nil
	}
	prev := uint64(0)
	if p.Recovered {
		prev = since.Offset
	}
	p.Entries, p.More, err = r.directBatch(ctx, st.name, subject, from, prev, limit, maxBytes)
	return p, err
}

// jsonNull stands for a stored publication whose data is not JSON (a
// backend published it on the stream's subject directly).
var jsonNull = []byte("null")

// errNoMessage is a direct get's 404.
var errNoMessage = errors.New("relay: no such message")

// directGet asks for one message and returns its sequence.
func (r *NATS) directGet(ctx context.Context, stream string, req map[string]any) (uint64, error) {
	body, _ := json.Marshal(req)
	m, err := r.nc.RequestWithContext(ctx, "$JS.API.DIRECT.GET."+stream, body)
	if err != nil {
		return 0, fmt.Errorf("relay: history read: %w", err)
	}
	if st := m.Header.Get("Status"); st != "" {
		if st == "404" {
			return 0, errNoMessage
		}
		return 0, fmt.Errorf("relay: history read: status %s %s", st, m.Header.Get("Description"))
	}
	return strconv.ParseUint(m.Header.Get(jetstream.SequenceHeader), 10, 64)
}

// directBatch reads up to limit publications of subject from sequence
// from on (about maxBytes of them), in one direct get batch. prev is the
// Prev of the first.
func (r *NATS) directBatch(ctx context.Context, stream, subject string, from, prev uint64, limit, maxBytes int) ([]Entry, bool, error) {
	inbox := r.nc.NewRespInbox()
	sub, err := r.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, false, fmt.Errorf("relay: history read: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	body, _ := json.Marshal(map[string]any{"seq": from, "next_by_subj": subject, "batch": limit, "max_bytes": max(maxBytes, 1)})
	if err := r.nc.PublishRequest("$JS.API.DIRECT.GET."+stream, inbox, body); err != nil {
		return nil, false, fmt.Errorf("relay: history read: %w", err)
	}
	var entries []Entry
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return nil, false, fmt.Errorf("relay: history read: %w", err)
		}
		switch m.Header.Get("Status") {
		case "":
		case "404":
			return entries, false, nil
		case "204": // end of batch
			pending, _ := strconv.ParseUint(m.Header.Get("Nats-Num-Pending"), 10, 64)
			return entries, pending > 0, nil
		default:
			return nil, false, fmt.Errorf("relay: history read: status %s %s", m.Header.Get("Status"), m.Header.Get("Description"))
		}
		seq, err := strconv.ParseUint(m.Header.Get(jetstream.SequenceHeader), 10, 64)
		if err != nil {
			return nil, false, fmt.Errorf("relay: history read: bad sequence: %w", err)
		}
		data := m.Data
		if !json.Valid(data) {
			data = jsonNull // as the live feed delivers it (dispatch)
		}
		entries = append(entries, Entry{Seq: Seq{Offset: seq, Prev: prev}, Data: data})
		prev = seq
	}
}

// liveSeq reads a republished message's place in its channel.
func liveSeq(m *nats.Msg) (Seq, bool) {
	off, err1 := strconv.ParseUint(m.Header.Get(jetstream.SequenceHeader), 10, 64)
	prev, err2 := strconv.ParseUint(m.Header.Get(jetstream.LastSequenceHeader), 10, 64)
	return Seq{Offset: off, Prev: prev}, err1 == nil && err2 == nil && off > 0
}

// isStored reports whether subject is a history subject.
func (r *NATS) isStored(subject string) bool {
	if r.hist == nil {
		return false
	}
	for _, st := range r.hist.streams {
		if st != nil && strings.HasPrefix(subject, st.stored+".") {
			return true
		}
	}
	return false
}

// liveChannel returns the channel of a message on a live subject.
func (r *NATS) liveChannel(subject string) (string, bool) {
	if r.hist == nil {
		return "", false
	}
	for _, st := range r.hist.streams {
		if st != nil && strings.HasPrefix(subject, st.live+".") {
			return subject[len(st.live)+1:], true
		}
	}
	return "", false
}
