// Package wsproto is RFC 6455 as bytes in and bytes out: the opening
// handshake, an incremental frame decoder, the frame encoder and the
// close-code rules, with RFC 7692's permessage-deflate. It does no socket I/O, starts no goroutine and never
// logs: the reactor hands it the bytes an event loop already holds and
// writes whatever it returns.
//
// # Data flow
//
//	loop read buffer ──> HandshakeScanner.Scan ──> ParseRequest ──> NegotiateDeflate ──> AppendAcceptExtensions / AppendReject
//	                                          └─> Decoder.SetDeflate, Decoder.Next ──> Message{Op, Payload} (inflated)
//	Message / publication ──> AppendFrame or Prepare ──> Bytes or Deflated ──> loop write
//
// # Handshake
//
// HandshakeScanner finds the end of the request (the blank line) across
// partial reads, remembering how far it has looked so each byte is scanned
// once, and refuses a header block larger than the configured limit with 431.
// ParseRequest then validates the complete request against RFC 6455 §4.2.1
// without allocating: every field it exposes is a slice of the request bytes.
// Bytes after the blank line are not part of the request; the caller keeps
// them and feeds them to the Decoder (a client may pipeline its first frame).
//
// gobwas/ws's Upgrader is not used for the server handshake: it reads
// through a pooled bufio.Reader from an io.Reader, reports fields through
// per-call callbacks (an allocation per handshake), and cannot say "need
// more bytes". The frame primitives of gobwas/ws are used throughout:
// OpCode, StatusCode, Header, CheckHeader, Cipher (resumable unmasking) and
// WriteHeaderBuffer.
//
// # The client side
//
// The load generator and the test clients speak the same protocol from the
// other end, through the same code: NewKey, AppendRequest and
// ParseResponse make and check an opening handshake (RFC 6455 §4.1),
// NewDecoder(ClientSide, …) decodes the server's unmasked frames, and
// AppendMaskedFrame masks a client's frames. Nothing here knows which side
// of a gateway it runs on.
//
// # Frames
//
// Decoder is the per-connection receive state. Next takes
// whatever bytes have arrived, at any boundary, unmasks payload in place and
// returns a Message when one completes. A frame that completes within one
// read is returned as a slice of the caller's buffer (no copy); only a
// message that spans reads or fragments is assembled in a pooled buffer,
// which is returned to the pool when the message has been consumed. Text is
// validated as UTF-8 incrementally and fails on the first bad byte. With
// SetGate on, Next also stops at each data message's start (Starting),
// before any of its payload is kept, so that a caller enforcing a rate can
// Skip it: a
// skipped message is read past, its frames still checked for size and
// framing, without being kept, unmasked, validated or inflated. Held says
// how much memory a message in progress keeps, for callers that bound it
// across connections.
//
// # permessage-deflate (RFC 7692)
//
// NegotiateDeflate answers a client's Sec-WebSocket-Extensions offers and
// AppendAcceptExtensions puts the answer in the 101. The server's policy
// makes compression cheap to hold for many connections:
//
//   - Every message is compressed on its own, the compressor reset first
//     (server_no_context_takeover, §7.1.1.1), so a publication is compressed
//     once, by Prepared.Deflated, and the same bytes go to every subscriber
//     that negotiated the extension.
//   - No inflate window is kept between a client's messages
//     (client_no_context_takeover, §7.1.1.2, which the server may require
//     unasked), so an idle connection holds no compression state at all:
//     Decoder.Idle is unchanged.
//   - The server compresses with a 32 KiB window and declines an offer whose
//     server_max_window_bits is below 15 (§7.1.2.1); it accepts any
//     client_max_window_bits and never answers one (§7.1.2.2).
//
// The answer is therefore always "permessage-deflate;
// server_no_context_takeover; client_no_context_takeover", with
// "; server_max_window_bits=15" when the offer carried that parameter.
//
// Receiving: a Decoder on which SetDeflate(true) was called accepts RSV1 on
// the first frame of a data message (§6), gathers the compressed message in
// a pooled buffer and inflates it when the last frame arrives (§7.2.2) with
// a pooled klauspost/compress reader, taken for that call only. Sending:
// AppendDeflatedFrame and Prepared.Deflated compress with a pooled
// klauspost/compress writer at DeflateLevel, and send a message plain when
// it is shorter than CompressionMinSize or does not shrink (§6 allows
// either per message). RSV1 on a control frame or a continuation fails the
// connection with 1002 (ErrRSV1Misplaced); data that does not inflate with
// 1007 (ErrBadCompressedData); an inflated message over the limit with 1009.
//
// # Lifetimes and goroutines
//
// A Decoder, like the connection it belongs to, is used by one goroutine at a
// time (the owning event loop). A Message's Payload is valid until the next
// call to Next or Reset on the same Decoder, and, if it aliases the caller's
// buffer, only as long as that buffer is. Copy it to keep it.
//
// Prepared frames are the exception: they are immutable once built and may be
// shared by any number of goroutines; the last Release returns the bytes to
// the pool.
//
// # Bounds
//
//   - Limits.MaxHeaderBytes (default 8 KiB): a larger request header block is
//     refused with 431 Request Header Fields Too Large.
//   - Limits.MaxFrameSize (default 1 MiB): a frame whose declared payload is
//     larger fails the connection with 1009 before any payload is buffered.
//   - Limits.MaxMessageSize (default 1 MiB): the same for the sum of a
//     fragmented message's frames. A compressed message is held to it twice:
//     its compressed bytes as they arrive, and its inflated bytes as they
//     are produced, inflation stopping one byte past the limit, so a
//     decompression bomb costs at most the limit and one 32 KiB window.
//   - MaxExtensionItems (32): the extensions and parameters NegotiateDeflate
//     examines in one request; more, and the request gets no compression.
//   - CompressionMinSize (256 bytes): shorter publications go out plain.
//   - Control frames carry at most 125 bytes (RFC 6455 §5.5).
package wsproto
