package wsproto

import (
	"math/rand/v2"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// FuzzDeflateDecoder feeds data to a decoder with permessage-deflate on,
// whole, byte by byte, cut once at split and in random reads: every feed
// must agree with the whole one, everything returned must obey the
// protocol and the size limit (inflated payloads included), and up to its
// first RSV error the stream must decode as it does with deflate off. Then
// data, as a payload, must survive AppendDeflatedFrame and the decoder,
// whole and cut in two fragments at split. Bit 0 of seed picks the client
// side, bit 1 the small limits, bit 2 binary for the round trip.
func FuzzDeflateDecoder(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, split uint16, seed int64) {
		side, limits := ServerSide, (*Limits)(nil)
		if seed&1 != 0 {
			side = ClientSide
		}
		if seed&2 != 0 {
			limits = &fuzzLimits
		}
		k := int(split) % (len(data) + 1)
		rng := rand.New(rand.NewPCG(uint64(seed), uint64(split)))
		run := func(deflate bool, f feed) decoded {
			d := NewDecoder(side, limits)
			defer d.Reset()
			d.SetDeflate(deflate)
			return decodeFeed(d, data, f)
		}
		whole := feed{name: "whole", chunk: func(left int) int { return left }}
		want := run(true, whole)
		checkDecoded(t, want, limits)
		for _, f := range []feed{
			{name: "bytewise", chunk: func(int) int { return 1 }},
			{name: "split", chunk: threeReads(k, k)},
			{name: "random", chunk: func(left int) int { return 1 + rng.IntN(min(left, 1+int(split%32))) }},
		} {
			if s := run(true, f).diff(want.msgs, want.err); s != "" {
				t.Fatalf("feed %s differs from the whole feed: %s", f.name, s)
			}
		}
		plain := run(false, whole)
		if plain.err != ws.ErrProtocolNonZeroRsv {
			if s := want.diff(plain.msgs, plain.err); s != "" {
				t.Fatalf("without RSV1, deflate on differs from off: %s", s)
			}
		} else if prefix := (decoded{msgs: want.msgs[:min(len(want.msgs), len(plain.msgs))]}); prefix.diff(plain.msgs, nil) != "" {
			t.Fatalf("deflate on decodes %d messages before the RSV bits deflate off fails on, want the same %d",
				len(want.msgs), len(plain.msgs))
		}

		op := ws.OpText
		if seed&4 != 0 || !utf8.Valid(data) {
			op = ws.OpBinary
		}
		checkDeflateRoundTrip(t, op, data, k)
	})
}

// checkDeflateRoundTrip encodes payload with AppendDeflatedFrame and decodes
// it on both sides, as one frame and, when compressed, as two fragments cut
// at k of the compressed bytes.
func checkDeflateRoundTrip(t *testing.T, op ws.OpCode, payload []byte, k int) {
	t.Helper()
	frame := AppendDeflatedFrame(nil, op, payload)
	if frame[0]&rsv1 != 0 && len(frame)-headerSize(frame[1]) >= len(payload) {
		t.Fatalf("compressed %d bytes into %d", len(payload), len(frame)-headerSize(frame[1]))
	}
	streams := map[string][]byte{"server frame": frame}
	streams["client frame"] = maskFrame(frame, testMask)
	if frame[0]&rsv1 != 0 {
		body := frame[headerSize(frame[1]):]
		k = min(k, len(body))
		first := AppendFrame(nil, op, false, body[:k])
		first[0] |= rsv1
		streams["server fragments"] = append(first, AppendFrame(nil, ws.OpContinuation, true, body[k:])...)
	}
	for name, in := range streams {
		side := ClientSide
		if name == "client frame" {
			side = ServerSide
		}
		for _, f := range feedsFor(uint64(k))[:3] {
			d := NewDecoder(side, nil)
			d.SetDeflate(true)
			got := decodeFeed(d, in, f)
			d.Reset()
			if s := got.diff([]Message{{Op: op, Payload: payload}}, nil); s != "" {
				t.Fatalf("%s, feed %s: %s", name, f.name, s)
			}
		}
	}
}
