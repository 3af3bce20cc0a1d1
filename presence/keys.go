package presence

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// Keys of the members bucket are "<enc(channel)>.<conn>", that is
// "<enc(channel)>.<node>.<32 hex>": three tokens. A channel name may hold
// ':' and '@', which KV keys do not allow, and dots, which would make its
// levels tokens of their own, so it is encoded as one token, base64url
// without padding ([A-Za-z0-9_-], at most 340 bytes for 255). Then one
// channel's members are the filter "<enc>.>" and one node's "*.<node>.*".

// channelToken encodes channel as one key token.
func channelToken(channel string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(channel))
}

// memberKey is the key of conn in channel.
func memberKey(channel, conn string) string {
	return channelToken(channel) + "." + conn
}

// channelFilter matches the keys of channel's members.
func channelFilter(channel string) string { return channelToken(channel) + ".>" }

// nodeFilter matches the keys of node's members in every channel.
func nodeFilter(node string) string { return "*." + node + ".*" }

// splitKey cuts a member key into its channel token, conn and node,
// without decoding anything. ok is false for a key of another shape.
func splitKey(key string) (token, conn, node string, ok bool) {
	token, conn, ok = strings.Cut(key, ".")
	if !ok {
		return "", "", "", false
	}
	node, hex, ok := strings.Cut(conn, ".")
	if !ok || node == "" || hex == "" || strings.Contains(hex, ".") {
		return "", "", "", false
	}
	return token, conn, node, true
}

// parseKey returns the channel and conn of a member key.
func parseKey(key string) (channel, conn string, ok bool) {
	token, conn, _, ok := splitKey(key)
	if !ok || token == "" || strings.IndexFunc(token, notIDRune) >= 0 { // the decoder skips \r and \n
		return "", "", false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil {
		return "", "", false
	}
	return string(b), conn, true
}

// decodeMember reads the member stored under key: the JSON value when
// there is one (a member, or a leave marker written by this package), or
// else what the key says (Conn and Node). ok is false when neither works.
func decodeMember(key string, value []byte) (m Member, ok bool) {
	if len(value) > 0 && json.Unmarshal(value, &m) == nil && m.Conn != "" {
		return m, true
	}
	_, conn, node, ok := splitKey(key)
	return Member{Conn: conn, Node: node}, ok
}

// notIDRune reports whether r is outside [A-Za-z0-9_-], the alphabet of
// base64url and of node IDs.
func notIDRune(r rune) bool { return r >= 0x80 || !isIDByte(byte(r)) }
