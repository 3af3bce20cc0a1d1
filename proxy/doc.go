// Package proxy reads what the proxies in front of a node say about the
// client: the PROXY protocol header a TCP load balancer puts before the
// client's first byte, and the X-Forwarded-For and Forwarded headers an
// HTTP proxy adds to the request.
//
// # Who may speak for the client
//
// A node behind a proxy sees the proxy as its peer; the client's address is
// only what the proxy says it is. Anyone who can reach the node directly can
// say the same thing, so the word is taken only from peers the operator
// trusts: a listener either expects a PROXY header on every connection
// (Version other than Off; it should accept connections only from the
// proxies, which the caller checks against a Trusted set before calling
// ParseHeader) or expects none, because a header accepted from anyone lets
// anyone choose the address that per-IP limits, logs and bans see. For the
// same reason ClientFromForwarded refuses (ok is false) unless the peer is in
// the Trusted set.
//
// # The PROXY protocol header
//
// ParseHeader reads version 1 (a text line) and version 2 (binary) headers
// as the haproxy specification (proxy-protocol.txt) defines them, from the
// bytes received so far: it returns "need more" until the header is
// complete, and fails on the first byte that cannot belong to an acceptable
// header, so a client that speaks HTTP straight to a PROXY listener is
// refused on its first read. It keeps no state between calls and never
// allocates; the caller keeps the bytes (at most MaxHeader) until it
// returns.
//
// Local means the proxy sent a header that names no client: a v2 LOCAL
// command (the proxy's own health check), a v1 "UNKNOWN" line, or a v2 PROXY
// command for an unspecified family or transport. The specification says to
// use the real connection endpoints, so the caller uses the socket's peer.
// A v2 header for an AF_UNIX or datagram client is refused
// (ErrUnsupported): a WebSocket node cannot serve one.
//
// # Forwarded headers: the right-most untrusted entry
//
// Each proxy appends the address it received the request from to the right
// of X-Forwarded-For or Forwarded; the client can write anything it likes to
// the left, before the first proxy sees the request. So the list is read
// from the right: entries that are trusted proxies are skipped, and the
// first untrusted entry is the client, the last hop a trusted proxy vouches
// for. The left-most entry, the popular choice, is whatever the client
// wrote. An entry that must be read and is not an address (malformed,
// "unknown", an obfuscated identifier) ends the walk with ok false: the
// caller falls back to the peer rather than guess.
//
// # Bounds
//
//   - MaxHeader (1024 bytes): the longest PROXY header; a v1 line is at most
//     107 bytes, a v2 header's announced length is checked when it arrives.
//   - MaxTrusted (256): entries in a Trusted list, scanned on each lookup.
//   - MaxForwardedEntries (64): entries examined from the right, and header
//     lines of one kind read.
//   - MaxForwardedBytes (8 KiB): the total of one header's values.
//
// # Allocation and goroutines
//
// ParseHeader, Trusted.Contains and ClientFromForwarded allocate nothing
// (AllocsPerRun tests hold them to it) and start no goroutine: they are
// meant to run on the event loop that owns the connection. Addresses are
// parsed from the bytes by this package's own parsers, which accept exactly
// what net/netip does (without zones); netip.ParseAddr(string(b)) would
// allocate once per address. Results hold no reference to the caller's
// bytes. A Trusted is immutable and shared by all loops.
package proxy
