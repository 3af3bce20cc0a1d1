package presence

import "strings"

// connHexLen is the length of a connection ID's random part.
const connHexLen = 32

// validChannel reports whether channel is 1-255 bytes of [A-Za-z0-9_-:@]
// in dot-separated levels, none empty: the gateway's channel names.
func validChannel(channel string) bool {
	if len(channel) == 0 || len(channel) > MaxChannelLen {
		return false
	}
	level := 0 // bytes in the current level
	for i := 0; i < len(channel); i++ {
		c := channel[i]
		switch {
		case c == '.':
			if level == 0 {
				return false
			}
			level = 0
			continue
		case isIDByte(c), c == ':', c == '@':
		default:
			return false
		}
		level++
	}
	return level > 0
}

// validNode reports whether node is 1-64 bytes of [A-Za-z0-9_-].
func validNode(node string) bool {
	if len(node) == 0 || len(node) > MaxNodeLen {
		return false
	}
	for i := 0; i < len(node); i++ {
		if !isIDByte(node[i]) {
			return false
		}
	}
	return true
}

// validMember reports whether m can be stored: a valid node, a Conn of
// that node ("<node>.<32 lowercase hex>") and a User of at most MaxUserLen
// bytes. Conn's shape is what makes "<channel>.<conn>" a key of exactly
// three tokens, the second the node's, which the janitor's filter needs.
func validMember(m Member) bool {
	if !validNode(m.Node) || len(m.User) > MaxUserLen {
		return false
	}
	hex, ok := strings.CutPrefix(m.Conn, m.Node)
	if !ok || len(hex) != 1+connHexLen || hex[0] != '.' {
		return false
	}
	for i := 1; i < len(hex); i++ {
		if c := hex[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// isIDByte reports whether c is in [A-Za-z0-9_-].
func isIDByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}
