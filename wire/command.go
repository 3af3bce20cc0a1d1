package wire

import (
	"bytes"
	"encoding/json"
)

// CommandKind is what a client command asks for: its "type".
type CommandKind uint8

// The commands a client sends.
const (
	Subscribe   CommandKind = iota + 1 // {"type":"subscribe","channel":C}: receive C from now on
	Unsubscribe                        // {"type":"unsubscribe","channel":C}: stop receiving C
	Publish                            // {"type":"publish","channel":C,"data":D}: send D to C's subscribers
	Refresh                            // {"type":"refresh","token":T}: replace the connection's token
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
	}
	return "invalid"
}

// MaxIDBytes bounds a command's "id" as sent (a number, or a string
// between its quotes): the reply repeats it, so it must not let a small
// frame ask for a large answer.
const MaxIDBytes = 64

// Command is a parsed, validated client command. It owns its memory:
// nothing aliases the frame it was parsed from.
type Command struct {
	Kind    CommandKind
	Channel string          // Subscribe, Unsubscribe, Publish: a valid channel name; else ""
	Data    json.RawMessage // Publish: a JSON value of 1 to maxData bytes; else nil
	ID      json.RawMessage // nil, or a valid id (ValidID) to repeat in the reply
	Token   string          // Refresh: non-empty; else ""
}

// clientFrame is the JSON shape of every client command.
type clientFrame struct {
	Type    string          `json:"type"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
	ID      json.RawMessage `json:"id"`
	Token   string          `json:"token"`
}

// ParseCommand decodes and validates one client text frame; maxData bounds
// a publication's "data" (the gateway's MaxDataSize). It is pure (no
// connection, no state), safe on any goroutine, and payload may be reused
// once it returns.
//
// A refused frame returns one of the sentinels of the table in errors.go
// (ErrNotJSON, ErrBadID, ErrUnknownType, ErrBadChannel,
// ErrPublishWithoutData, ErrRefreshWithoutToken, ErrDataTooLarge) and a
// Command that holds only the ID its error frame repeats: nil when the
// frame is not JSON or the id itself was refused.
func ParseCommand(payload []byte, maxData int) (Command, *Error) {
	var f clientFrame
	if len(payload) == 0 || payload[0] != '{' || json.Unmarshal(payload, &f) != nil {
		return Command{}, ErrNotJSON
	}
	if len(f.ID) > 0 && !ValidID(f.ID) {
		return Command{}, ErrBadID
	}
	cmd := Command{Channel: f.Channel, Data: f.Data, ID: f.ID, Token: f.Token}
	if len(f.ID) == 0 {
		cmd.ID = nil
	}
	refuse := func(e *Error) (Command, *Error) { return Command{ID: cmd.ID}, e }
	switch f.Type {
	case "subscribe":
		cmd.Kind = Subscribe
	case "unsubscribe":
		cmd.Kind = Unsubscribe
	case "publish":
		cmd.Kind = Publish
	case "refresh":
		if f.Token == "" {
			return refuse(ErrRefreshWithoutToken)
		}
		cmd.Kind, cmd.Channel, cmd.Data = Refresh, "", nil
		return cmd, nil
	default:
		return refuse(ErrUnknownType)
	}
	if !ValidChannel(f.Channel) {
		return refuse(ErrBadChannel)
	}
	if cmd.Kind == Publish {
		if len(f.Data) == 0 {
			return refuse(ErrPublishWithoutData)
		}
		if len(f.Data) > maxData {
			return refuse(ErrDataTooLarge)
		}
	} else {
		cmd.Data = nil
	}
	cmd.Token = ""
	return cmd, nil
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
	var n json.Number
	return json.Unmarshal(id, &n) == nil
}
