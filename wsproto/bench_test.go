package wsproto

import (
	"bytes"
	stdflate "compress/flate"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/gobwas/ws"
	"github.com/klauspost/compress/flate"
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

// json1K is a 1 KB JSON publication of the kind a gateway fans out: an
// envelope and a list of quotes, keys repeated, values varied. The
// compression tests and benchmarks share it.
var json1K = func() []byte {
	var b strings.Builder
	b.WriteString(`{"channel":"markets:quotes","offset":1843227,"epoch":"x7Hq2","data":{"quotes":[`)
	for i := 0; b.Len() < 1000; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"symbol":"SYM%03d","bid":%d.%02d,"ask":%d.%02d,"size":%d,"ts":%d}`,
			i*7%97, 100+i*13%50, i*31%100, 100+i*13%50, (i*31+5)%100, 10+i*17%90, 1718000000123+int64(i)*37)
	}
	b.WriteString(`]}}`)
	return []byte(b.String())
}()

// BenchmarkAppendDeflatedFrame1KJSON compresses json1K into a frame at
// DeflateLevel, from a pooled compressor, as Prepared.Deflated does once per
// publication; "ratio" is the frame's size over the plain frame's.
func BenchmarkAppendDeflatedFrame1KJSON(b *testing.B) {
	dst := make([]byte, 0, 4096)
	plain := len(AppendFrame(nil, ws.OpText, true, json1K))
	b.SetBytes(int64(len(json1K)))
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendDeflatedFrame(dst[:0], ws.OpText, json1K)
	}
	b.ReportMetric(float64(len(dst))/float64(plain), "ratio")
}

// BenchmarkDeflateLevels1KJSON is the measurement behind DeflateLevel:
// klauspost/compress's levels and the standard library's fastest on the
// same payload, each reset per message as no context takeover requires.
func BenchmarkDeflateLevels1KJSON(b *testing.B) {
	type compressor interface {
		io.Writer
		Flush() error
		Reset(io.Writer)
	}
	type levelCase struct {
		name string
		new  func() compressor
	}
	var cases []levelCase
	for _, level := range []int{1, 2, 3, 4, 5, 6, 9} {
		cases = append(cases, levelCase{fmt.Sprintf("klauspost=%d", level),
			func() compressor { w, _ := flate.NewWriter(nil, level); return w }})
	}
	cases = append(cases, levelCase{"stdlib=1", func() compressor { w, _ := stdflate.NewWriter(nil, 1); return w }})
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			w := c.new()
			var out bytes.Buffer
			b.SetBytes(int64(len(json1K)))
			b.ReportAllocs()
			for b.Loop() {
				out.Reset()
				w.Reset(&out)
				_, _ = w.Write(json1K)
				_ = w.Flush()
			}
			b.ReportMetric(float64(out.Len()-4)/float64(len(json1K)), "ratio")
		})
	}
}

// BenchmarkDecoderInflate1KJSON decodes one masked compressed frame carrying
// json1K per iteration: unmasking, gathering, inflating from a pooled
// reader into a pooled buffer, UTF-8 checking.
func BenchmarkDecoderInflate1KJSON(b *testing.B) {
	frame := AppendDeflatedFrame(nil, ws.OpText, json1K)
	frame = maskFrame(frame, asciiMask)
	in := make([]byte, len(frame))
	d := NewDecoder(ServerSide, nil)
	defer d.Reset()
	b.SetBytes(int64(len(json1K)))
	b.ReportAllocs()
	for b.Loop() {
		copy(in, frame)
		d.SetDeflate(true)
		m, _, err := d.Next(in)
		if err != nil || len(m.Payload) != len(json1K) {
			b.Fatalf("%v, %d bytes", err, len(m.Payload))
		}
	}
}
