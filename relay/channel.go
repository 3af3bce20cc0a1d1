package relay

// MaxChannelLength is the longest channel name, in bytes.
const MaxChannelLength = 255

// ValidChannel reports whether name is a channel name: 1 to
// MaxChannelLength bytes of ASCII letters, digits and "_ - : @", in levels
// separated by single dots ("chat.room.42"), with no empty level. The set
// leaves out NATS's wildcards ('*', '>'), whitespace and every other byte,
// so a channel maps to a NATS subject token for token and cannot inject a
// wildcard or an empty token.
func ValidChannel(name string) bool {
	if len(name) == 0 || len(name) > MaxChannelLength {
		return false
	}
	levelStart := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '.' {
			if i == levelStart {
				return false // empty level
			}
			levelStart = i + 1
			continue
		}
		if c >= 0x80 || !channelByte[c] {
			return false
		}
	}
	return levelStart < len(name)
}

var channelByte = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "_-:@" {
		t[c] = true
	}
	return t
}()
