package reactor

import (
	"github.com/wsgate/wsgate/wsproto"
)

// permessage-deflate (RFC 7692). The node accepts a client's offer
// (Config.Compression) always with server_no_context_takeover and
// client_no_context_takeover (wsproto.NegotiateDeflate): every message is
// compressed on its own, so
//
//   - a publication is compressed once, on the first deflate subscriber's
//     loop that needs it (wsproto.Prepared.Deflated), and the same bytes
//     go to every deflate subscriber, as the plain frame goes to the
//     others: the CPU grows with publications, not with subscribers;
//   - no connection keeps a compressor or an inflater between messages: a
//     compressed message from the client is inflated when its last frame
//     arrives, with a pooled inflater, against the message size limit
//     (a decompression bomb is closed 1009 before it is inflated past it).
//     An idle deflate connection costs one flag bit in conn.endpoint.
//
// Payloads under CompressionMinSize go uncompressed (RSV1 clear), as do
// the node's own replies on /ws (acks, errors, notices: small) and history
// replays; /echo compresses its answers like publications.

// negotiateDeflate accepts req's permessage-deflate offer for c when
// compression is on, and returns the response's extension (nil: none).
func (e *Engine) negotiateDeflate(c *conn, req *wsproto.Request) []byte {
	if e.cfg.Compression == CompressionOff {
		return nil
	}
	ext, ok := wsproto.NegotiateDeflate(req.Values("Sec-WebSocket-Extensions"))
	if !ok {
		return nil
	}
	c.endpoint |= endpointDeflate
	return ext
}

// frameFor is p's frame as c gets it: in Protobuf for a Protobuf
// connection (protobuf.go), compressed for a deflate connection, each made
// once per publication.
func (l *loop) frameFor(c *conn, p *wsproto.Prepared) []byte {
	if c.endpoint.proto() {
		v, first := p.Variant(prepareProto)
		if first {
			l.stats.protoEncodes.Add(1)
		}
		p = v
	}
	if !c.endpoint.deflate() {
		return p.Bytes()
	}
	f, first := p.Deflated(l.eng.cfg.CompressionMinSize)
	if first && &f[0] != &p.Bytes()[0] { // compressed: a small or incompressible one goes plain
		l.stats.compressions.Add(1)
	}
	return f
}

// appendEcho appends /echo's answer to a message: compressed, like a
// publication, for a deflate connection.
func (c *conn) appendEcho(dst []byte, m wsproto.Message) []byte {
	if c.endpoint.deflate() && len(m.Payload) >= c.loop.eng.cfg.CompressionMinSize {
		c.loop.stats.compressions.Add(1)
		return wsproto.AppendDeflatedFrame(dst, m.Op, m.Payload)
	}
	return wsproto.AppendFrame(dst, m.Op, true, m.Payload)
}
