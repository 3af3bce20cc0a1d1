package wireproto_test

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wsgate/wsgate/wire"
	"github.com/wsgate/wsgate/wireproto"
)

// parseErrors are the refusals ParseCommand documents.
var parseErrors = map[*wire.Error]bool{
	wireproto.ErrNotClientFrame: true, wireproto.ErrNoCommand: true, wire.ErrBadChannel: true,
	wire.ErrRefreshWithoutToken: true, wire.ErrDataTooLarge: true, wire.ErrBadSince: true, wire.ErrBadKey: true,
}

// fuzzSeeds are valid and broken ClientFrames; the corpus in
// testdata/fuzz/FuzzProtoClientFrame holds them too, plus what fuzzing found.
func fuzzSeeds(t testing.TB) [][]byte {
	seeds := [][]byte{nil, {0xff}, {1<<3 | 2, 0x80}, []byte(`{"type":"pong"}`)}
	for _, f := range []*wireproto.ClientFrame{
		subscribe(&wireproto.Subscribe{Channel: "news", Id: 1}),
		subscribe(&wireproto.Subscribe{Channel: "news", Id: 1, Since: &wireproto.Since{Offset: 41, Epoch: "e1"}}),
		publish(&wireproto.Publish{Channel: "news", Data: []byte(`{"a":1}`), Id: 3, IdempotencyKey: "k-1"}),
		publish(&wireproto.Publish{Channel: "news", Data: []byte{0, 0xff}}),
		history(&wireproto.History{Channel: "news", Limit: 5000, Since: &wireproto.Since{Epoch: "a:b"}}),
		{Command: &wireproto.ClientFrame_Refresh{Refresh: &wireproto.Refresh{Token: "a.b.c", Id: 4}}},
		{Command: &wireproto.ClientFrame_Unsubscribe{Unsubscribe: &wireproto.Unsubscribe{Channel: "a.b"}}},
		{Command: &wireproto.ClientFrame_Pong{Pong: &wireproto.Pong{}}},
	} {
		seeds = append(seeds, marshal(t, f))
	}
	return seeds
}

// FuzzProtoClientFrame feeds arbitrary payloads to ParseCommand: it must
// not panic, must return a command or one of its documented errors (with
// nothing but the id to repeat), a command must keep every rule the
// gateway relies on, and re-encoding the command must parse back to it.
func FuzzProtoClientFrame(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	const maxData = 64
	f.Fuzz(func(t *testing.T, payload []byte) {
		cmd, perr := wireproto.ParseCommand(payload, maxData)
		if perr != nil {
			if !parseErrors[perr] {
				t.Fatalf("error %+v: not one ParseCommand documents", perr)
			}
			if cmd.Kind != 0 || cmd.Channel != "" || cmd.Data != nil || cmd.Token != "" || cmd.Since != nil {
				t.Fatalf("a refused command carries more than its id: %+v", cmd)
			}
			if len(cmd.ID) > 0 && !wire.ValidID(cmd.ID) {
				t.Fatalf("refusal with invalid id %q", cmd.ID)
			}
			return
		}
		if len(cmd.ID) > 0 && !wire.ValidID(cmd.ID) {
			t.Fatalf("command with invalid id %q", cmd.ID)
		}
		switch cmd.Kind {
		case wire.Subscribe, wire.Unsubscribe, wire.History, wire.Publish:
			if !wire.ValidChannel(cmd.Channel) {
				t.Fatalf("invalid channel %q", cmd.Channel)
			}
		case wire.Refresh:
			if cmd.Token == "" {
				t.Fatal("refresh without token")
			}
		case wire.Pong:
		case wire.Send:
			if len(wireproto.Bytes(cmd.Data)) > maxData {
				t.Fatalf("send of %d bytes, limit %d", len(wireproto.Bytes(cmd.Data)), maxData)
			}
		default:
			t.Fatalf("kind %d", cmd.Kind)
		}
		if cmd.Since != nil && !wire.ValidEpoch(cmd.Since.Epoch) {
			t.Fatalf("invalid epoch %q", cmd.Since.Epoch)
		}
		if cmd.Kind == wire.History && (cmd.Limit < 1 || cmd.Limit > wire.MaxHistoryLimit) {
			t.Fatalf("limit %d", cmd.Limit)
		}
		if cmd.Key != "" && !wire.ValidKey(cmd.Key) {
			t.Fatalf("invalid key %q", cmd.Key)
		}
		if cmd.Kind == wire.Publish {
			// The data travels as JSON a JSON subscriber can take, and a
			// Protobuf subscriber gets the bytes sent.
			var sent wireproto.ClientFrame
			_ = proto.Unmarshal(payload, &sent)
			if !bytes.Equal(wireproto.Bytes(cmd.Data), sent.GetPublish().GetData()) {
				t.Fatalf("data %q does not give back %q", cmd.Data, sent.GetPublish().GetData())
			}
			wire.AppendMessage(nil, cmd.Channel, cmd.Data) // JSON validity: wire's PublishData tests
		}
		// Round trip: the same command encoded again parses to itself.
		again, aerr := wireproto.ParseCommand(reencode(t, cmd), maxData)
		if aerr != nil || !sameCommand(again, cmd) {
			t.Fatalf("round trip: %+v (%v), want %+v", again, aerr, cmd)
		}
	})
}

// reencode writes cmd as a ClientFrame.
func reencode(t *testing.T, cmd wire.Command) []byte {
	var id uint64
	for _, c := range cmd.ID {
		id = id*10 + uint64(c-'0')
	}
	var since *wireproto.Since
	if cmd.Since != nil {
		since = &wireproto.Since{Offset: cmd.Since.Offset, Epoch: cmd.Since.Epoch}
	}
	var f *wireproto.ClientFrame
	switch cmd.Kind {
	case wire.Subscribe:
		f = subscribe(&wireproto.Subscribe{Channel: cmd.Channel, Id: id, Since: since})
	case wire.Unsubscribe:
		f = &wireproto.ClientFrame{Command: &wireproto.ClientFrame_Unsubscribe{Unsubscribe: &wireproto.Unsubscribe{Channel: cmd.Channel, Id: id}}}
	case wire.History:
		f = history(&wireproto.History{Channel: cmd.Channel, Id: id, Since: since, Limit: uint32(cmd.Limit)})
	case wire.Publish:
		f = publish(&wireproto.Publish{Channel: cmd.Channel, Id: id, Data: wireproto.Bytes(cmd.Data), IdempotencyKey: cmd.Key})
	case wire.Refresh:
		f = &wireproto.ClientFrame{Command: &wireproto.ClientFrame_Refresh{Refresh: &wireproto.Refresh{Token: cmd.Token, Id: id}}}
	case wire.Pong:
		f = &wireproto.ClientFrame{Command: &wireproto.ClientFrame_Pong{Pong: &wireproto.Pong{}}}
	case wire.Send:
		f = &wireproto.ClientFrame{Command: &wireproto.ClientFrame_Send{Send: &wireproto.Send{Data: wireproto.Bytes(cmd.Data), Id: id}}}
	}
	return marshal(t, f)
}
