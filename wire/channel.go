package wire

// MaxChannelLength is the longest channel name, in bytes.
const MaxChannelLength = 255

// ChannelRule is the channel-name rule in words: the message of
// ErrBadChannel, and the text any API that refuses a name should send.
const ChannelRule = "channel names are 1-255 bytes of letters, digits and _-:@ in dot-separated levels"

// ValidChannel reports whether name is a channel name: 1 to
// MaxChannelLength bytes of ASCII letters, digits and "_ - : @", in levels
// separated by single dots ("chat.room.42"), with no empty level.
//
// The set is chosen for what a name passes through. It leaves out NATS's
// wildcards ('*', '>'), whitespace and every other byte, so a channel maps
// onto a NATS subject token for token and cannot inject a wildcard or an
// empty token; and it holds no byte JSON would escape, so the server copies
// a name into a frame between quotes as it is (AppendMessage,
// AppendUnsubscribed).
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
		if !validByte(c) {
			return false
		}
	}
	return levelStart < len(name)
}

// ValidChannelLevel reports whether level is one non-empty level of a
// channel name: letters, digits and "_ - : @", no dot. Channel patterns
// (auth) are built of such levels and the wildcards "*" and ">".
func ValidChannelLevel(level string) bool {
	if len(level) == 0 || len(level) > MaxChannelLength {
		return false
	}
	for i := 0; i < len(level); i++ {
		if !validByte(level[i]) {
			return false
		}
	}
	return true
}

func validByte(c byte) bool { return c < 0x80 && levelByte[c] }

var levelByte = func() (t [128]bool) {
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
