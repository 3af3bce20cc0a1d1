package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/wire"
)

// Format is the encoding a client speaks on the socket (docs/protocol.md):
// JSON in text frames, or Protobuf (subprotocol wsgate.v1.proto) in binary
// frames. The client behaves the same in both: reconnection, resume, gap
// repair, idempotent publishes, token refresh. What differs is the data a
// publication carries (see Client.Publish and Message).
type Format uint8

const (
	// FormatJSON is the JSON protocol, the default.
	FormatJSON Format = iota
	// FormatProtobuf is the Protobuf protocol: the client offers the
	// subprotocol wsgate.v1.proto, and a server that does not accept it
	// (one that speaks only JSON) is a final refusal before the first
	// connection (ErrSubprotocolRefused).
	FormatProtobuf
)

func (f Format) String() string {
	switch f {
	case FormatJSON:
		return "json"
	case FormatProtobuf:
		return "protobuf"
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// codec is a format: how the client's commands are written and the
// server's frames read. Everything else (the state machine, the resume
// rules, the connection) is the same in both formats: the codec turns
// commands into frames and frames into the one frame shape the client
// acts on.
type codec interface {
	// subprotocol is what the client offers in Sec-WebSocket-Protocol
	// and the server must echo; "" for none.
	subprotocol() string
	// opcode is the WebSocket frame type of every command and every
	// server frame: text or binary.
	opcode() ws.OpCode
	// data encodes a publication's data, as Publish was given it.
	data(v any) ([]byte, error)
	// encode writes one command.
	encode(cmd command) []byte
	// decode reads one server frame into f. f owns its memory: payload
	// may be reused once it returns.
	decode(payload []byte, f *frame) error
}

func newCodec(f Format) codec {
	if f == FormatProtobuf {
		return protoCodec{}
	}
	return jsonCodec{}
}

// command is one client command (docs/protocol.md, "Client → server"),
// whatever the format.
type command struct {
	kind     cmdKind
	channel  string
	since    *Position // subscribe, history: nil for none
	presence bool      // subscribe: ask for the channel's join and leave frames
	limit    int       // history: 0 for the server's default
	token    string    // refresh
	data     []byte    // publish, send: what codec.data made
	key      string    // publish: the idempotency key
	id       uint64    // 0: none (pong)
}

// frameKind is what a server frame is.
type frameKind uint8

const (
	frameUnknown frameKind = iota // a frame this client does not know: ignored
	frameConnected
	frameAck
	frameError
	frameMessage
	frameHistory
	frameUnsubscribed
	frameDropped // JSON: an error frame with code "dropped" and no id
	framePing    // the application heartbeat (/ws?heartbeat=1)
	framePush    // data from the backend for this connection alone
	frameJoin    // a member joined a channel subscribed with presence
	frameLeave   // a member left it
)

// frame is one server frame as both codecs give it: the union of the
// frames' fields, absent ones zero.
type frame struct {
	kind         frameKind
	id           uint64 // the command it answers; 0: none (unasked)
	channel      string
	data         []byte
	offset       uint64
	hasOffset    bool // an offset was given (JSON: present; Protobuf: not 0)
	prev         uint64
	epoch        string
	recovered    *bool // nil: not given
	more         bool
	code         string
	message      string
	reason       string
	count        uint64 // frameDropped, when the format gives it (Protobuf)
	publications []Publication
	hello        connected // frameConnected
	member       Member    // frameJoin, frameLeave (its Channel is channel)
}

// connected is the content of the first frame of a connection.
type connected struct {
	Client         string
	Node           string
	Version        string
	PingIntervalMS int64
}

// droppedText is the JSON protocol's message of a dropped notice, which
// the Protobuf one gives as a count.
func droppedText(n uint64) string {
	return strconv.FormatUint(n, 10) + " messages dropped: the connection was not reading fast enough"
}

// jsonCodec is the JSON protocol (package wire's), in text frames.
type jsonCodec struct{}

func (jsonCodec) subprotocol() string { return "" }
func (jsonCodec) opcode() ws.OpCode   { return ws.OpText }

// data: a json.RawMessage is sent as it is (it must be valid JSON and
// UTF-8), anything else through encoding/json ([]byte as a base64 string).
func (jsonCodec) data(v any) ([]byte, error) { return marshalData(v) }

// jsonCommand is a command's JSON, publish, send and pong aside.
type jsonCommand struct {
	Type     string    `json:"type"`
	Channel  string    `json:"channel,omitempty"`
	Since    *Position `json:"since,omitempty"`
	Presence bool      `json:"presence,omitempty"`
	Limit    int       `json:"limit,omitempty"`
	Token    string    `json:"token,omitempty"`
	ID       uint64    `json:"id"`
}

func (jsonCodec) encode(cmd command) []byte {
	var typ string
	switch cmd.kind {
	case cmdPublish:
		return publishFrame(cmd.channel, cmd.data, cmd.key, cmd.id)
	case cmdSend:
		return sendFrame(cmd.data, cmd.id)
	case cmdPong:
		return []byte(`{"type":"pong"}`)
	case cmdSubscribe:
		typ = "subscribe"
	case cmdUnsubscribe:
		typ = "unsubscribe"
	case cmdHistory:
		typ = "history"
	case cmdRefresh:
		typ = "refresh"
	default:
		panic(fmt.Sprintf("wsgate: no command of kind %d", cmd.kind))
	}
	b, err := json.Marshal(jsonCommand{Type: typ, Channel: cmd.channel, Since: cmd.since, Presence: cmd.presence, Limit: cmd.limit, Token: cmd.token, ID: cmd.id})
	if err != nil {
		panic(err) // strings and numbers always marshal
	}
	return b
}

// publishFrame builds a publish command around data, byte for byte: the
// server passes data through unchanged, so the client does not re-encode
// it either. channel is valid (no escaping needed).
func publishFrame(channel string, data []byte, key string, id uint64) []byte {
	k, _ := json.Marshal(key)
	b := make([]byte, 0, len(data)+len(channel)+len(k)+80)
	b = append(b, `{"type":"publish","channel":"`...)
	b = append(b, channel...)
	b = append(b, `","data":`...)
	b = append(b, data...)
	b = append(b, `,"idempotency_key":`...)
	b = append(b, k...)
	b = append(b, `,"id":`...)
	b = strconv.AppendUint(b, id, 10)
	return append(b, '}')
}

// sendFrame builds a send command around data, byte for byte, as
// publishFrame does.
func sendFrame(data []byte, id uint64) []byte {
	b := make([]byte, 0, len(data)+40)
	b = append(b, `{"type":"send","data":`...)
	b = append(b, data...)
	b = append(b, `,"id":`...)
	b = strconv.AppendUint(b, id, 10)
	return append(b, '}')
}

// jsonFrame is the union of the JSON frames the server sends.
type jsonFrame struct {
	Type           string          `json:"type"`
	ID             json.RawMessage `json:"id"`
	Channel        string          `json:"channel"`
	Data           json.RawMessage `json:"data"`
	Offset         *uint64         `json:"offset"`
	Prev           uint64          `json:"prev"`
	Epoch          string          `json:"epoch"`
	Recovered      *bool           `json:"recovered"`
	More           bool            `json:"more"`
	Code           string          `json:"code"`
	Message        string          `json:"message"`
	Reason         string          `json:"reason"`
	Publications   []Publication   `json:"publications"`
	Client         string          `json:"client"`
	Node           string          `json:"node"`
	Version        string          `json:"version"`
	PingIntervalMS int64           `json:"ping_interval_ms"`
	Conn           string          `json:"conn"`   // join, leave
	User           string          `json:"user"`   // join, leave
	Joined         int64           `json:"joined"` // join, leave: unix ms
}

var jsonKinds = map[string]frameKind{
	"connected":    frameConnected,
	"ack":          frameAck,
	"error":        frameError,
	"message":      frameMessage,
	"history":      frameHistory,
	"unsubscribed": frameUnsubscribed,
	"ping":         framePing,
	"push":         framePush,
	"join":         frameJoin,
	"leave":        frameLeave,
}

func (jsonCodec) decode(payload []byte, f *frame) error {
	var j jsonFrame
	if err := json.Unmarshal(payload, &j); err != nil {
		return err
	}
	id, err := parseID(j.ID)
	if err != nil {
		return err
	}
	*f = frame{
		kind:         jsonKinds[j.Type],
		id:           id,
		channel:      j.Channel,
		data:         j.Data,
		offset:       val(j.Offset),
		hasOffset:    j.Offset != nil,
		prev:         j.Prev,
		epoch:        j.Epoch,
		recovered:    j.Recovered,
		more:         j.More,
		code:         j.Code,
		message:      j.Message,
		reason:       j.Reason,
		publications: j.Publications,
	}
	switch f.kind {
	case frameConnected:
		f.hello = connected{Client: j.Client, Node: j.Node, Version: j.Version, PingIntervalMS: j.PingIntervalMS}
	case frameJoin, frameLeave:
		f.member = member(j.Channel, j.Conn, j.User, j.Node, j.Joined)
	}
	if f.kind == frameError && id == 0 && j.Code == wire.CodeDropped {
		f.kind = frameDropped
	}
	return nil
}

// member is who a join or leave frame names; joined 0 (absent) is the
// zero time.
func member(channel, conn, user, node string, joinedMS int64) Member {
	m := Member{Channel: channel, ConnID: conn, User: user, Node: node}
	if joinedMS != 0 {
		m.Joined = time.UnixMilli(joinedMS)
	}
	return m
}

// val is an optional number's value, 0 when absent.
func val(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}

// parseID reads a reply's id: the client sends only numbers from 1, so
// absent (or null) is 0, none, and anything but digits is not a reply to
// this client.
func parseID(raw json.RawMessage) (uint64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	id, err := strconv.ParseUint(string(raw), 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("id %.40s is not one of this client's", raw)
	}
	return id, nil
}

// marshalData encodes a publication's data as JSON: a json.RawMessage is
// sent as it is (it must be valid JSON and UTF-8), anything else through
// encoding/json without HTML escaping.
func marshalData(data any) ([]byte, error) {
	if raw, ok := data.(json.RawMessage); ok {
		raw = bytes.TrimSpace(raw)
		if !json.Valid(raw) || !utf8.Valid(raw) {
			return nil, errors.New("wsgate: publish data is not valid JSON (UTF-8)")
		}
		return raw, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(data); err != nil {
		return nil, fmt.Errorf("wsgate: publish data: %w", err)
	}
	return bytes.TrimSpace(buf.Bytes()), nil
}
