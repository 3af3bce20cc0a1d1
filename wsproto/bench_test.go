package wsproto

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// benchSizes are the payload sizes every payload benchmark runs at: a chat
// line, a small JSON event, a larger document, a bulk update.
var benchSizes = []int{16, 128, 1024, 16384}

// streamSize is the read buffer the decoder benchmarks decode from.
const streamSize = 64 << 10

// BenchmarkDecoderSmallTextFrames decodes a 64 KiB buffer of masked text
// frames per iteration, each frame whole in the buffer (the zero-copy path).
// The stream is masked with asciiMask, so unmasking in place leaves valid
// text that the next iteration decodes again without a rebuild.
func BenchmarkDecoderSmallTextFrames(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			stream, frames := textStream(streamSize, size)
			d := NewDecoder(ServerSide, nil)
			defer d.Reset()
			b.SetBytes(int64(len(stream)))
			b.ReportAllocs()
			for b.Loop() {
				if decodeAll(d, stream) != frames {
					b.Fatal("lost frames")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*frames), "ns/frame")
		})
	}
}

// BenchmarkDecoderSplit decodes the same stream delivered in 1500-byte reads
// (one Ethernet MTU each), so frames straddle reads and take the pooled path.
func BenchmarkDecoderSplit(b *testing.B) {
	const readSize = 1500
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			stream, frames := textStream(streamSize, size)
			d := NewDecoder(ServerSide, nil)
			defer d.Reset()
			b.SetBytes(int64(len(stream)))
			b.ReportAllocs()
			for b.Loop() {
				got := 0
				for off := 0; off < len(stream); off += readSize {
					got += decodeAll(d, stream[off:min(off+readSize, len(stream))])
				}
				if got != frames {
					b.Fatal("lost frames")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*frames), "ns/frame")
		})
	}
}

func BenchmarkAppendFrame(b *testing.B) {
	for _, size := range benchSizes {
		payload := []byte(strings.Repeat("x", size))
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			dst := make([]byte, 0, size+ws.MaxHeaderSize)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				dst = AppendFrame(dst[:0], ws.OpText, true, payload)
			}
		})
		b.Run(fmt.Sprintf("masked/size=%d", size), func(b *testing.B) {
			dst := make([]byte, 0, size+ws.MaxHeaderSize)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				dst = AppendMaskedFrame(dst[:0], ws.OpText, true, testMask, payload)
			}
		})
	}
}

// BenchmarkParseRequest handles a realistic browser upgrade request: find
// its end, validate it, pick a subprotocol and write the 101.
func BenchmarkParseRequest(b *testing.B) {
	b.Run("parse", func(b *testing.B) {
		b.SetBytes(int64(len(browserRequest)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseRequest(browserRequest); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("scan+parse+accept", func(b *testing.B) {
		dst := make([]byte, 0, 256)
		b.SetBytes(int64(len(browserRequest)))
		b.ReportAllocs()
		for b.Loop() {
			var s HandshakeScanner
			end, err := s.Scan(browserRequest, DefaultMaxHeaderBytes)
			if err != nil || end == 0 {
				b.Fatal(end, err)
			}
			r, err := ParseRequest(browserRequest[:end])
			if err != nil {
				b.Fatal(err)
			}
			var proto []byte
			for p := range r.Tokens("Sec-WebSocket-Protocol") {
				proto = p
				break
			}
			dst = AppendAccept(dst[:0], r.Key, proto)
		}
	})
}

func BenchmarkUTF8(b *testing.B) {
	inputs := []struct {
		name string
		unit string
	}{
		{name: "ascii", unit: "The quick brown fox jumps over the lazy dog. "},
		{name: "mixed", unit: "Grüße, κόσμε, 你好, 😀 and some ASCII. "},
	}
	for _, in := range inputs {
		for _, size := range benchSizes {
			p := []byte(strings.Repeat(in.unit, size/len(in.unit)+1))
			n := size
			for !ValidUTF8(p[:n]) { // cut at a code point boundary, up to 3 bytes short
				n--
			}
			p = p[:n]
			b.Run(fmt.Sprintf("%s/size=%d", in.name, size), func(b *testing.B) {
				b.SetBytes(int64(len(p)))
				b.ReportAllocs()
				for b.Loop() {
					if !ValidUTF8(p) {
						b.Fatal("invalid")
					}
				}
			})
		}
	}
}

// BenchmarkPrepared frames one publication for 100 subscribers: one encode,
// 100 reads of the shared bytes, 100 releases.
func BenchmarkPrepared(b *testing.B) {
	const subscribers = 100
	for _, size := range benchSizes {
		payload := []byte(strings.Repeat("x", size))
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			sink := 0
			for b.Loop() {
				p := Prepare(ws.OpText, payload)
				p.Retain(subscribers - 1)
				for range subscribers {
					sink += len(p.Bytes())
					p.Release()
				}
			}
			if sink == 0 {
				b.Fatal("no bytes")
			}
		})
	}
}
