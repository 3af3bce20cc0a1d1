package wire

import (
	"bytes"
	"encoding/json"
)

// CommandKind is what a client command asks for: its "type".
type CommandKind uint8

// The commands a client sends.
const (
	Subscribe   CommandKind = iota + 1 // {"type":"subscribe","channel":C,"since":S}: receive C from now on (from S with since)
	Unsubscribe                        // {"type":"unsubscribe","channel":C}: stop receiving C
	Publish                            // {"type":"publish","channel":C,"data":D,"idempotency_key":K}: send D to C's subscribers
	Refresh                            // {"type":"refresh","token":T}: replace the connection's token
	History                            // {"type":"history","channel":C,"since":S,"limit":N}: read C's past publications
	Pong                               // {"type":"pong"}: the answer to the heartbeat's {"type":"ping"}; no reply
	Send                               // {"type":"send","data":D}: D to the backend's message hook, not to a channel
)

// String returns the kind's "type" on the wire.
func (k CommandKind) String() string {
	switch k {
	case Subscribe:
		return "subscribe"
	case Unsubscribe:
		return "unsubscribe"
	case Publish:
		return "publish"
	case Refresh:
		return "refresh"
	case History:
		return "history"
	case Pong:
		return "pong"
	case Send:
		return "send"
	}
	return "invalid"
}

// MaxIDBytes bounds a command's "id" as sent (a number, or a string
// between its quotes): the reply repeats it, so it must not let a small
// frame ask for a large answer.
const MaxIDBytes = 64

// MaxEpochBytes bounds an epoch (ValidEpoch): frames repeat it, so it is
// as short as an id.
const MaxEpochBytes = 64

// MaxKeyBytes bounds a publication's "idempotency_key": the server keeps
// recent keys to drop a retried publication, so a key must be small.
const MaxKeyBytes = 64

// The bounds of a history command's "limit": without one a client gets
// DefaultHistoryLimit publications, and never more than MaxHistoryLimit in
// one reply (a larger limit is lowered, not refused: "more" in the reply
// tells the client to ask again).
const (
	DefaultHistoryLimit = 100
	MaxHistoryLimit     = 1000
)

// Since is a position in a channel's history: the last offset a client
// saw, in the epoch it saw it in. A channel's offsets restart when its
// history is lost, and its epoch changes with them, so an offset means
// nothing without its epoch.
type Since struct {
	Offset uint64 // 0 to 2^64-1
	Epoch  string // a valid epoch (ValidEpoch)
}

// Command is a parsed, validated client command. It owns its memory:
// nothing aliases the frame it was parsed from.
type Command struct {
	Kind    CommandKind
	Channel string          // Subscribe, Unsubscribe, Publish, History: a valid channel name; else ""
	Data    json.RawMessage // Publish: a JSON value of 1 to maxData bytes; else nil
	ID      json.RawMessage // nil, or a valid id (ValidID) to repeat in the reply
	Token   string          // Refresh: non-empty; else ""
	Since   *Since          // Subscribe, History: the position to resume after, nil without one; else nil
	Limit   int             // History: 1 to MaxHistoryLimit (DefaultHistoryLimit without one); else 0
	Key     string          // Publish: the "idempotency_key", 1 to MaxKeyBytes bytes of 0x21-0x7e, "" without one; else ""
	// Presence: a Subscribe's "presence": true asks for the channel's
	// join and leave frames (channels with presence only).
	Presence bool
}

// clientFrame is the JSON shape of every client command. The fields whose
// wrong type has a refusal of its own (since, limit, idempotency_key) are
// kept raw, so a wrong type there is not a bad_json.
type clientFrame struct {
	Type    string          `json:"type"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
	ID      json.RawMessage `json:"id"`
	Token   string          `json:"token"`
	Since   json.RawMessage `json:"since"`
	Limit   json.RawMessage `json:"limit"`
	Key     json.RawMessage `json:"idempotency_key"`
	// Presence is kept raw for the same reason: a wrong type is a
	// bad_request of its own.
	Presence json.RawMessage `json:"presence"`
}

// ParseCommand decodes and validates one client text frame; maxData bounds
// a publication's "data" (the gateway's MaxDataSize). It is pure (no
// connection, no state), safe on any goroutine, and payload may be reused
// once it returns.
//
// A refused frame returns one of the sentinels of the table in errors.go
// (ErrNotJSON, ErrBadID, ErrUnknownType, ErrBadChannel,
// ErrPublishWithoutData, ErrRefreshWithoutToken, ErrDataTooLarge,
// ErrBadSince, ErrBadKey, ErrBadLimit) and a Command that holds only the ID
// its error frame repeats: nil when the frame is not JSON or the id itself
// was refused.
//
// "since", "limit" and "idempotency_key" are checked only on the commands
// that take them (a field another command does not take is ignored, as an
// unknown field is), and null counts as absent.
func ParseCommand(payload []byte, maxData int) (Command, *Error) {
	if len(payload) == 0 || payload[0] != '{' {
		return Command{}, ErrNotJSON
	}
	if f, ok := scanSimple(payload); ok {
		cmd, err := f.command(maxData)
		return cmd.own(), err
	}
	var f clientFrame
	if json.Unmarshal(payload, &f) != nil {
		return Command{}, ErrNotJSON
	}
	return f.command(maxData)
}

// command validates f as ParseCommand does.
func (f *clientFrame) command(maxData int) (Command, *Error) {
	if len(f.ID) > 0 && !ValidID(f.ID) {
		return Command{}, ErrBadID
	}
	cmd := Command{Channel: f.Channel}
	if len(f.ID) > 0 {
		cmd.ID = f.ID
	}
	refuse := func(e *Error) (Command, *Error) { return Command{ID: cmd.ID}, e }
	switch f.Type {
	case "subscribe":
		cmd.Kind = Subscribe
	case "unsubscribe":
		cmd.Kind = Unsubscribe
	case "publish":
		cmd.Kind = Publish
	case "history":
		cmd.Kind = History
	case "pong":
		return Command{Kind: Pong, ID: cmd.ID}, nil
	case "send":
		if len(f.Data) == 0 {
			return refuse(ErrSendWithoutData)
		}
		if len(f.Data) > maxData {
			return refuse(ErrDataTooLarge)
		}
		cmd.Kind, cmd.Channel, cmd.Data = Send, "", f.Data
		return cmd, nil
	case "refresh":
		if f.Token == "" {
			return refuse(ErrRefreshWithoutToken)
		}
		cmd.Kind, cmd.Channel, cmd.Token = Refresh, "", f.Token
		return cmd, nil
	default:
		return refuse(ErrUnknownType)
	}
	if !ValidChannel(f.Channel) {
		return refuse(ErrBadChannel)
	}
	switch cmd.Kind {
	case Publish:
		if len(f.Data) == 0 {
			return refuse(ErrPublishWithoutData)
		}
		if len(f.Data) > maxData {
			return refuse(ErrDataTooLarge)
		}
		cmd.Data = f.Data
		key, ok := parseKey(f.Key)
		if !ok {
			return refuse(ErrBadKey)
		}
		cmd.Key = key
	case Subscribe, History:
		since, ok := parseSince(f.Since)
		if !ok {
			return refuse(ErrBadSince)
		}
		cmd.Since = since
		if cmd.Kind == Subscribe {
			switch string(f.Presence) {
			case "", "null", "false":
			case "true":
				cmd.Presence = true
			default:
				return refuse(ErrBadPresence)
			}
		}
		if cmd.Kind == History {
			if cmd.Limit, ok = parseLimit(f.Limit); !ok {
				return refuse(ErrBadLimit)
			}
		}
	}
	return cmd, nil
}

// absent reports whether a raw field was left out or sent as null.
func absent(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

// parseSince decodes "since": nil when absent, false when it is not
// {"offset":N,"epoch":"E"} with N in uint64 and E a valid epoch.
func parseSince(raw json.RawMessage) (*Since, bool) {
	if absent(raw) {
		return nil, true
	}
	var s struct {
		Offset json.RawMessage `json:"offset"`
		Epoch  *string         `json:"epoch"`
	}
	if raw[0] != '{' || json.Unmarshal(raw, &s) != nil || s.Epoch == nil || !ValidEpoch(*s.Epoch) {
		return nil, false
	}
	offset, ok := parseUint(s.Offset)
	if !ok {
		return nil, false
	}
	return &Since{Offset: offset, Epoch: *s.Epoch}, true
}

// parseLimit decodes a history's "limit": DefaultHistoryLimit when absent,
// an integer of at least 1 lowered to MaxHistoryLimit, false otherwise.
func parseLimit(raw json.RawMessage) (int, bool) {
	if absent(raw) {
		return DefaultHistoryLimit, true
	}
	if !digits(raw) {
		return 0, false // a sign, a fraction, an exponent, or not a number
	}
	n, ok := parseUint(raw)
	switch {
	case !ok || n > MaxHistoryLimit:
		return MaxHistoryLimit, true // still an integer, only a large one
	case n == 0:
		return 0, false
	}
	return int(n), true
}

// parseKey decodes a publication's "idempotency_key": "" when absent,
// false when it is not a string of 1 to MaxKeyBytes bytes of 0x21-0x7e.
func parseKey(raw json.RawMessage) (string, bool) {
	if absent(raw) {
		return "", true
	}
	if raw[0] != '"' {
		return "", false
	}
	var key string
	if bytes.IndexByte(raw, '\\') < 0 {
		key = unquoted(raw) // no escape: the bytes are the key (ParseCommand owns them)
	} else if json.Unmarshal(raw, &key) != nil {
		return "", false
	}
	if !ValidKey(key) {
		return "", false
	}
	return key, true
}

// ValidKey reports whether key is an idempotency key the server takes: 1
// to MaxKeyBytes bytes of printable ASCII, no space (the admin API applies
// the same rule).
func ValidKey(key string) bool {
	if len(key) == 0 || len(key) > MaxKeyBytes {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// digits reports whether raw is a JSON number written in digits alone: no
// sign, fraction or exponent, so 1e3 and 1.0 are not integers here.
func digits(raw []byte) bool {
	if len(raw) == 0 {
		return false
	}
	for _, c := range raw {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseUint parses raw as digits (digits) into a uint64; false when raw is
// not digits or does not fit.
func parseUint(raw []byte) (uint64, bool) {
	if !digits(raw) {
		return 0, false
	}
	var n uint64
	for _, c := range raw {
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// ValidID reports whether id, as sent, is an id the server repeats: a JSON
// number or string of at most MaxIDBytes (a string's between its quotes).
// A string is taken as valid JSON already (ParseCommand has decoded it).
func ValidID(id json.RawMessage) bool {
	id = bytes.TrimSpace(id)
	if len(id) == 0 || len(id) > MaxIDBytes+2 || id[0] != '"' && len(id) > MaxIDBytes {
		return false
	}
	if id[0] == '"' {
		return true // json.Unmarshal has already checked it is a valid string
	}
	return string(id) == "null" || jsonNumber(id) // what json.Number takes
}

// jsonNumber reports whether b is one JSON number (RFC 8259 §6):
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func jsonNumber(b []byte) bool {
	i := 0
	digitsFrom := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i, n = i+1, n+1
		}
		return n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digitsFrom() == 0:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digitsFrom() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digitsFrom() == 0 {
			return false
		}
	}
	return i == len(b)
}

// ValidEpoch reports whether epoch is an epoch: 1 to MaxEpochBytes bytes of
// ASCII letters, digits and ". _ : -". The set holds no byte JSON would
// escape, so frames copy an epoch between quotes as it is (AppendPosition,
// AppendHistory), as they do a channel name.
func ValidEpoch(epoch string) bool {
	if len(epoch) == 0 || len(epoch) > MaxEpochBytes {
		return false
	}
	for i := 0; i < len(epoch); i++ {
		if c := epoch[i]; c >= 0x80 || !epochByte[c] {
			return false
		}
	}
	return true
}

var epochByte = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "._:-" {
		t[c] = true
	}
	return t
}()
