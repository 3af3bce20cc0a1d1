package client

import (
	"fmt"
	"strings"

	"github.com/gobwas/ws"
	"google.golang.org/protobuf/proto"

	"github.com/wsgate/wsgate/wire"
	"github.com/wsgate/wsgate/wireproto"
)

// protoCodec is the Protobuf protocol (package wireproto's, subprotocol
// wsgate.v1.proto), in binary frames.
type protoCodec struct{}

func (protoCodec) subprotocol() string { return wireproto.Protocol }
func (protoCodec) opcode() ws.OpCode   { return ws.OpBinary }

// data: a []byte is sent as it is, any bytes; anything else as in JSON (a
// json.RawMessage as it is, valid JSON; other values through
// encoding/json), so a JSON subscriber gets the same value from either
// format's publisher.
func (protoCodec) data(v any) ([]byte, error) {
	if b, ok := v.([]byte); ok {
		if b == nil {
			b = []byte{}
		}
		return b, nil
	}
	return marshalData(v)
}

func (protoCodec) encode(cmd command) []byte {
	var f wireproto.ClientFrame
	since := func() *wireproto.Since {
		if cmd.since == nil {
			return nil
		}
		return &wireproto.Since{Offset: cmd.since.Offset, Epoch: cmd.since.Epoch}
	}
	switch cmd.kind {
	case cmdSubscribe:
		f.Command = &wireproto.ClientFrame_Subscribe{Subscribe: &wireproto.Subscribe{Channel: cmd.channel, Id: cmd.id, Since: since(), Presence: cmd.presence}}
	case cmdUnsubscribe:
		f.Command = &wireproto.ClientFrame_Unsubscribe{Unsubscribe: &wireproto.Unsubscribe{Channel: cmd.channel, Id: cmd.id}}
	case cmdPublish:
		f.Command = &wireproto.ClientFrame_Publish{Publish: &wireproto.Publish{Channel: cmd.channel, Data: cmd.data, IdempotencyKey: cmd.key, Id: cmd.id}}
	case cmdHistory:
		f.Command = &wireproto.ClientFrame_History{History: &wireproto.History{Channel: cmd.channel, Id: cmd.id, Since: since(), Limit: uint32(min(max(cmd.limit, 0), wire.MaxHistoryLimit))}}
	case cmdRefresh:
		// A Protobuf string must be UTF-8; a token that is not is
		// refused by the server either way (JSON escapes it alike).
		f.Command = &wireproto.ClientFrame_Refresh{Refresh: &wireproto.Refresh{Token: strings.ToValidUTF8(cmd.token, "\uFFFD"), Id: cmd.id}}
	case cmdSend:
		f.Command = &wireproto.ClientFrame_Send{Send: &wireproto.Send{Data: cmd.data, Id: cmd.id}}
	case cmdPong:
		f.Command = &wireproto.ClientFrame_Pong{Pong: &wireproto.Pong{}}
	default:
		panic(fmt.Sprintf("wsgate: no command of kind %d", cmd.kind))
	}
	b, err := proto.Marshal(&f)
	if err != nil {
		// Only a string that is not UTF-8 fails: channels, keys and
		// epochs are checked before, the token is made valid above.
		panic("wsgate: " + err.Error())
	}
	return b
}

func (protoCodec) decode(payload []byte, f *frame) error {
	var s wireproto.ServerFrame
	if err := proto.Unmarshal(payload, &s); err != nil {
		return err
	}
	*f = frame{}
	switch x := s.Frame.(type) {
	case *wireproto.ServerFrame_Connected:
		c := x.Connected
		f.kind = frameConnected
		f.hello = connected{Client: c.GetClient(), Node: c.GetNode(), Version: c.GetVersion(), PingIntervalMS: c.GetPingIntervalMs()}
	case *wireproto.ServerFrame_Ack:
		a := x.Ack
		f.kind, f.id, f.channel, f.epoch = frameAck, a.GetId(), a.GetChannel(), a.GetEpoch()
		f.offset, f.hasOffset = a.GetOffset(), a.GetEpoch() != ""
		f.recovered = a.Recovered
	case *wireproto.ServerFrame_Error:
		e := x.Error
		f.kind, f.id, f.code, f.message = frameError, e.GetId(), e.GetCode(), e.GetMessage()
	case *wireproto.ServerFrame_Message:
		m := x.Message
		f.kind, f.channel, f.data = frameMessage, m.GetChannel(), m.GetData()
		f.offset, f.hasOffset, f.prev = m.GetOffset(), m.GetOffset() != 0, m.GetPrev()
		if f.data == nil {
			f.data = []byte{} // empty bytes were published, not nothing
		}
	case *wireproto.ServerFrame_History:
		h := x.History
		recovered := h.GetRecovered()
		f.kind, f.id, f.channel, f.epoch = frameHistory, h.GetId(), h.GetChannel(), h.GetEpoch()
		f.offset, f.hasOffset, f.recovered, f.more = h.GetOffset(), h.GetEpoch() != "", &recovered, h.GetMore()
		f.publications = make([]Publication, len(h.GetPublications()))
		for i, p := range h.GetPublications() {
			data := p.GetData()
			if data == nil {
				data = []byte{}
			}
			f.publications[i] = Publication{Offset: p.GetOffset(), Prev: p.GetPrev(), Data: data}
		}
	case *wireproto.ServerFrame_Unsubscribed:
		u := x.Unsubscribed
		f.kind, f.channel, f.reason = frameUnsubscribed, u.GetChannel(), u.GetReason()
	case *wireproto.ServerFrame_Dropped:
		d := x.Dropped
		f.kind, f.channel, f.count = frameDropped, d.GetChannel(), d.GetCount()
		f.offset, f.hasOffset = d.GetOffset(), d.GetOffset() != 0
		f.code, f.message = wire.CodeDropped, droppedText(d.GetCount())
	case *wireproto.ServerFrame_Ping:
		f.kind = framePing
	case *wireproto.ServerFrame_Push:
		f.kind, f.data = framePush, x.Push.GetData()
		if f.data == nil {
			f.data = []byte{} // as a message's
		}
	case *wireproto.ServerFrame_Presence:
		p := x.Presence
		f.kind, f.channel = frameLeave, p.GetChannel()
		if p.GetJoin() {
			f.kind = frameJoin
		}
		f.member = member(p.GetChannel(), p.GetConn(), p.GetUser(), p.GetNode(), p.GetJoinedMs())
	default:
		f.kind = frameUnknown // a frame of a later version
	}
	return nil
}
