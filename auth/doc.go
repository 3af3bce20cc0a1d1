// Package auth decides who a WebSocket client is and which channels it may
// use: it verifies JSON Web Tokens (golang-jwt/jwt/v5), compiles the channel
// patterns they carry, and finds the token in an opening handshake.
// Everything it returns is immutable and may be shared by any number of
// goroutines; a Verifier's keys are swapped whole (Reload, a JWKS
// refresh), never edited in place.
//
// Verify and Extract do no I/O and never block, so the reactor calls them
// on its event loops. The package does I/O in two places only: NewVerifier
// fetches Config.JWKSURL once before returning, and a Verifier built with
// a JWKSURL starts one goroutine, the refresher, which alone fetches the
// key set afterwards (see "Keys from a URL") and ends on Verifier.Close.
// Without a JWKSURL there is no goroutine and no I/O after NewVerifier.
//
// # Tokens
//
// A Verifier accepts exactly the algorithms its keys call for, never more:
// HS256 with an HMAC secret, RS256 with an RSA public key, ES256 with a
// P-256 public key (from a PEM file, or a JWKS from a file or a URL, where
// the token's "kid" picks the key). "none" is never accepted, and a token
// is verified only with a key of its own algorithm's type, so an HS256
// token signed with the text of an RSA public key is refused (the classic
// algorithm-confusion attack).
//
// Claims: "sub" (required, the user id), "exp" (required), "nbf" (optional),
// "aud" (must contain Config.Audience when that is set), "iss" (must equal
// Config.Issuer when that is set), "subscribe" and "publish" (optional
// arrays of channel patterns; absent means nothing). A token whose claims
// break these rules is refused as a whole rather than half-used, with
// ErrClaims wrapped in an error that names the failing claim (never the
// value expected).
//
// Verification cost per algorithm is BenchmarkVerify's (BENCHMARKS.md, Go
// benchmarks): tens of microseconds at most, comparable to the handshake
// itself. The reactor verifies once per handshake (and once per refresh) on
// the event loop, never per message.
//
// # Reloading keys
//
// A Verifier lives as long as the node: the reactor holds one pointer to
// it and connections hold the Claims it returned. Reload swaps its keys
// for new ones: the keys sit behind an atomic pointer to an immutable key
// set, so Verify, on any event loop, reads one generation without a lock
// and never sees a mix. Keys of any kind may come, go or change; Leeway,
// Audience, Issuer and JWKSURL may not (a reload that tries is refused;
// a URL's key set is not re-read by Reload, which asks the refresher for a
// fetch instead), and a
// Verifier always keeps at least one key, so a reload cannot switch
// authentication off. A failed reload keeps the old keys. Connections keep
// their Claims; the next refresh is checked against the new keys.
//
// # Keys from a URL
//
// With Config.JWKSURL (https only, also after a redirect), NewVerifier
// fetches the key set before returning and fails if it cannot: a node does
// not start without its keys. Then the refresher goroutine fetches it
//
//   - periodically, every Cache-Control max-age clamped to
//     [MinJWKSRefresh, MaxJWKSRefresh] (1 minute to 1 hour), or every
//     Config.JWKSRefresh (default 10 minutes) when the server gives none;
//   - when Verify meets a kid it does not know (or an RS256/ES256 token
//     while the set has no key of that type), or on Reload;
//
// but never within MinJWKSRefresh of the previous fetch, whatever asks:
// a flood of tokens with made-up kids costs the identity provider one
// request a minute per node. Verify does not wait: it refuses the token
// with ErrUnknownKey and asks the refresher with a non-blocking send; a
// token signed with a newly published key passes once the fetch lands, at
// most a minute later. A fetch is bounded by Config.JWKSFetchTimeout
// (default 10 s, from dialling to the last byte), MaxJWKSBytes, a 64 KiB
// header block and MaxJWKSRedirects (3); one that fails in any way keeps
// the keys in force, is logged (Config.Logger), and is retried a minute
// later. The HMAC secret and PEM key, if any, stay as they are.
//
// # Channel patterns
//
// A pattern is a channel name whose levels may be "*" (exactly one level)
// or, as the last level only, ">" (one or more levels), as in NATS
// subjects: "chat.*" matches "chat.lobby" but neither "chat" nor
// "chat.a.b"; "user.42.>" matches "user.42.inbox" and "user.42.a.b"; ">"
// matches every channel. Literal levels follow the channel-name rules.
// Match does not allocate.
//
// # Where the token travels
//
// Extract looks in three places, and more than one token is an error:
//
//   - the query parameter "token" (ws://host/ws?token=JWT);
//   - the header "Authorization: Bearer JWT";
//   - the Sec-WebSocket-Protocol header, for browsers, which cannot set
//     headers: the client offers "wsgate.token.JWT" together with the real
//     protocol "wsgate.v1" (new WebSocket(url, ["wsgate.v1",
//     "wsgate.token." + jwt])). The server echoes "wsgate.v1", never the
//     token entry. (A JWT is made of base64url characters and dots, all
//     legal in a subprotocol token.)
//
// # Bounds
//
//   - MaxPatterns (64) patterns per claim: checks are linear in them.
//   - MaxLeeway (5 minutes) of clock skew on "exp" and "nbf"; default 0.
//   - RSA keys of MinRSABits (2048) to MaxRSABits (4096): an RS256 check
//     runs on a loop and costs about the square of the modulus size.
//   - MaxJWKSBytes (1 MiB) per key set document and MaxJWKSKeys (100)
//     entries in it, from a file or a URL alike.
//   - A JWKS URL is fetched at most once per MinJWKSRefresh (1 minute) and
//     at least once per MaxJWKSRefresh (1 hour), each fetch within
//     JWKSFetchTimeout (10 s), one fetch at a time.
//   - A token can be no longer than the handshake header limit allows.
package auth
