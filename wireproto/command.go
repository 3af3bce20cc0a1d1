package wireproto

import (
	"encoding/json"
	"strconv"
	"sync"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/wsgate/wsgate/wire"
)

// ParseCommand decodes and validates one binary frame of a Protobuf client
// (a ClientFrame) into the Command the gateway runs for a JSON client;
// maxData bounds a publication's data (the gateway's MaxDataSize), as sent.
// It is pure, safe on any goroutine, and payload may be reused once it
// returns: the Command owns its memory.
//
// The rules are wire.ParseCommand's, and so are the refusals (ErrBadChannel,
// ErrRefreshWithoutToken, ErrDataTooLarge, ErrBadSince, ErrBadKey), with
// these differences:
//
//   - a payload that is not a ClientFrame is ErrNotClientFrame
//     (bad_protobuf), one without a command ErrNoCommand (unknown_type);
//   - the id is a uint64, 0 for none; the Command carries it in digits;
//   - data is bytes, any bytes, empty included: Command.Data is
//     wire.PublishData's JSON form of them;
//   - a Since with an invalid epoch is ErrBadSince; a limit of 0 means
//     the default (wire.DefaultHistoryLimit), above wire.MaxHistoryLimit
//     it is lowered; an empty idempotency_key means none.
//
// A refused frame's Command holds only the id its error repeats.
func ParseCommand(payload []byte, maxData int) (wire.Command, *wire.Error) {
	if !oneCommand(payload) {
		return wire.Command{}, ErrNotClientFrame
	}
	var f ClientFrame
	if err := proto.Unmarshal(payload, &f); err != nil {
		return wire.Command{}, ErrNotClientFrame
	}
	switch c := f.Command.(type) {
	case *ClientFrame_Subscribe:
		cmd, err := channelCommand(wire.Subscribe, c.Subscribe.GetChannel(), c.Subscribe.GetId(), c.Subscribe.GetSince(), 0)
		cmd.Presence = err == nil && c.Subscribe.GetPresence()
		return cmd, err
	case *ClientFrame_Unsubscribe:
		return channelCommand(wire.Unsubscribe, c.Unsubscribe.GetChannel(), c.Unsubscribe.GetId(), nil, 0)
	case *ClientFrame_History:
		h := c.History
		return channelCommand(wire.History, h.GetChannel(), h.GetId(), h.GetSince(), h.GetLimit())
	case *ClientFrame_Publish:
		p := c.Publish
		cmd := wire.Command{Kind: wire.Publish, Channel: p.GetChannel(), ID: idOf(p.GetId())}
		switch {
		case !wire.ValidChannel(cmd.Channel):
			return wire.Command{ID: cmd.ID}, wire.ErrBadChannel
		case len(p.GetData()) > maxData:
			return wire.Command{ID: cmd.ID}, wire.ErrDataTooLarge
		case p.GetIdempotencyKey() != "" && !wire.ValidKey(p.GetIdempotencyKey()):
			return wire.Command{ID: cmd.ID}, wire.ErrBadKey
		}
		cmd.Data, cmd.Key = wire.PublishData(p.GetData()), p.GetIdempotencyKey()
		return cmd, nil
	case *ClientFrame_Refresh:
		id := idOf(c.Refresh.GetId())
		if c.Refresh.GetToken() == "" {
			return wire.Command{ID: id}, wire.ErrRefreshWithoutToken
		}
		return wire.Command{Kind: wire.Refresh, Token: c.Refresh.GetToken(), ID: id}, nil
	case *ClientFrame_Pong:
		return wire.Command{Kind: wire.Pong}, nil
	case *ClientFrame_Send:
		id := idOf(c.Send.GetId())
		if len(c.Send.GetData()) > maxData {
			return wire.Command{ID: id}, wire.ErrDataTooLarge
		}
		return wire.Command{Kind: wire.Send, Data: wire.PublishData(c.Send.GetData()), ID: id}, nil
	}
	return wire.Command{}, ErrNoCommand
}

// oneCommand reports whether payload holds at most one command: a
// ClientFrame's fields are a oneof, and an encoder writes one. Unmarshal
// would decode every repetition, each into a new message (a 1 MiB frame
// of empty commands took 82 ms, five times the slowest JSON of that
// size), to keep only the last. Other fields pass, for later versions.
func oneCommand(payload []byte) bool {
	commands := 0
	for len(payload) > 0 {
		num, _, n := protowire.ConsumeField(payload)
		if n < 0 {
			return false
		}
		if num < 64 && commandFields()&(1<<num) != 0 {
			if commands++; commands > 1 {
				return false
			}
		}
		payload = payload[n:]
	}
	return true
}

// commandFields has bit N set for each field N of ClientFrame.command
// (once the generated code has registered the descriptor).
var commandFields = sync.OnceValue(func() uint64 {
	var mask uint64
	fields := (&ClientFrame{}).ProtoReflect().Descriptor().Oneofs().ByName("command").Fields()
	for i := range fields.Len() {
		mask |= 1 << fields.Get(i).Number() // all below 64: TestCommandFieldsFitTheMask
	}
	return mask
})

// channelCommand builds a subscribe, unsubscribe or history command.
func channelCommand(kind wire.CommandKind, channel string, id uint64, since *Since, limit uint32) (wire.Command, *wire.Error) {
	cmd := wire.Command{Kind: kind, Channel: channel, ID: idOf(id)}
	if !wire.ValidChannel(channel) {
		return wire.Command{ID: cmd.ID}, wire.ErrBadChannel
	}
	if since != nil {
		if !wire.ValidEpoch(since.GetEpoch()) {
			return wire.Command{ID: cmd.ID}, wire.ErrBadSince
		}
		cmd.Since = &wire.Since{Offset: since.GetOffset(), Epoch: since.GetEpoch()}
	}
	if kind == wire.History {
		switch {
		case limit == 0:
			cmd.Limit = wire.DefaultHistoryLimit
		case limit > wire.MaxHistoryLimit:
			cmd.Limit = wire.MaxHistoryLimit
		default:
			cmd.Limit = int(limit)
		}
	}
	return cmd, nil
}

// idOf is a Protobuf id as the gateway keeps a command's id: its digits, a
// JSON number; nil for 0, none.
func idOf(id uint64) json.RawMessage {
	if id == 0 {
		return nil
	}
	return strconv.AppendUint(nil, id, 10)
}

// idFrom takes back what idOf made: 0 for nil, or for anything but digits
// (a JSON client's id never reaches a Protobuf connection's replies).
func idFrom(id json.RawMessage) uint64 {
	n, err := strconv.ParseUint(string(id), 10, 64)
	if err != nil {
		return 0
	}
	return n
}
