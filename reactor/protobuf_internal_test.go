package reactor

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wsgate/wsgate/relay"
	"github.com/wsgate/wsgate/wire"
	"github.com/wsgate/wsgate/wireproto"
	"github.com/wsgate/wsgate/wsproto"
)

// The Protobuf frame of a publication is made once, on its first
// Protobuf subscriber, and fan-out to a mix of JSON and Protobuf
// subscribers allocates nothing per subscriber or per delivery.
func TestFanOutProtobufOncePerPublication(t *testing.T) {
	for _, subs := range []int{10, 1000} {
		l, tp, sinks := fanOutFixture(t, subs)
		for i, c := range tp.subs {
			if i%2 == 0 {
				c.endpoint |= endpointProto
			}
		}
		frame := prepareMessage("news", relay.Seq{Offset: 42, Prev: 41}, []byte(`{"a":1}`))
		batch := func() {
			for range 8 {
				frame.Retain(1)
				l.inbox = append(l.inbox, delivery{topic: tp, frame: frame, seq: relay.Seq{Offset: 42, Prev: 41}})
			}
			_ = l.drainInbox(context.Background())
		}
		batch() // grow the scratch arrays, and build the Protobuf frame
		if allocs := testing.AllocsPerRun(100, batch); allocs != 0 {
			t.Errorf("%d subscribers: %.1f allocations per batch of 8 messages, want 0", subs, allocs)
		}
		if got := l.stats.protoEncodes.Load(); got != 1 {
			t.Errorf("%d subscribers: %d Protobuf encodes of one publication, want 1", subs, got)
		}
		for _, s := range sinks {
			if s.writes != 0 {
				t.Fatalf("a connection got a write through gnet")
			}
		}
		v, _ := frame.Variant(prepareProto)
		var f wireproto.ServerFrame
		payload := v.Bytes()[2:] // a short frame: two header bytes
		if err := proto.Unmarshal(payload, &f); err != nil {
			t.Fatal(err)
		}
		if m := f.GetMessage(); m.GetChannel() != "news" || m.GetOffset() != 42 || m.GetPrev() != 41 || string(m.GetData()) != `{"a":1}` {
			t.Fatalf("Protobuf frame %v", m)
		}
		frame.Release()
	}
}

// prepareProto rebuilds every publication prepareMessage frames, with and
// without history, JSON or binary data.
func TestPrepareProtoFromEveryMessage(t *testing.T) {
	for _, tc := range []struct {
		seq  relay.Seq
		data []byte
		want []byte
	}{
		{relay.Seq{}, []byte(`"x"`), []byte(`"x"`)},
		{relay.Seq{Offset: 1<<64 - 1, Prev: 7}, []byte(`[1]`), []byte(`[1]`)},
		{relay.Seq{Offset: 3}, wire.AppendBinary(nil, []byte{0, 1}), []byte{0, 1}},
	} {
		p := prepareMessage("chat.room.42", tc.seq, tc.data)
		v, first := p.Variant(prepareProto)
		if !first {
			t.Fatal("built before")
		}
		dec := wsproto.NewDecoder(wsproto.ClientSide, &wsproto.Limits{})
		m, _, err := dec.Next(append([]byte(nil), v.Bytes()...))
		if err != nil {
			t.Fatal(err)
		}
		var f wireproto.ServerFrame
		if err := proto.Unmarshal(m.Payload, &f); err != nil {
			t.Fatal(err)
		}
		got := f.GetMessage()
		if got.GetChannel() != "chat.room.42" || got.GetOffset() != tc.seq.Offset || got.GetPrev() != tc.seq.Prev || string(got.GetData()) != string(tc.want) {
			t.Errorf("%v %q: %v", tc.seq, tc.data, got)
		}
		p.Release()
	}
}

// BenchmarkPreparePublication: what a publication costs the node to frame,
// JSON alone (every subscriber speaks JSON) and JSON plus its Protobuf
// variant (at least one Protobuf subscriber), per payload size; each is
// paid once per publication, whatever the number of subscribers.
func BenchmarkPreparePublication(b *testing.B) {
	for _, size := range []int{16, 256, 4096} {
		data := make([]byte, size)
		for i := range data {
			data[i] = 'x'
		}
		data[0], data[size-1] = '"', '"'
		seq := relay.Seq{Offset: 123456, Prev: 123455}
		b.Run("json/"+itoa(size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				prepareMessage("chat.room.42", seq, data).Release()
			}
		})
		b.Run("json+proto/"+itoa(size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				p := prepareMessage("chat.room.42", seq, data)
				p.Variant(prepareProto)
				p.Release()
			}
		})
	}
}
