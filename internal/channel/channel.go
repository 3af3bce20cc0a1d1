// Package channel holds the channel-name rule that relay (which maps names
// onto NATS subjects) and auth (which compiles channel patterns) share. It
// imports nothing, so auth need not pull in relay's NATS client.
package channel

// MaxLength is the longest channel name, in bytes.
const MaxLength = 255

// Valid reports whether name is a channel name: 1 to MaxLength bytes of
// ASCII letters, digits and "_ - : @", in levels separated by single dots,
// with no empty level.
func Valid(name string) bool {
	if len(name) == 0 || len(name) > MaxLength {
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

// ValidLevel reports whether level is one non-empty level of a channel
// name: letters, digits and "_ - : @", no dot.
func ValidLevel(level string) bool {
	if len(level) == 0 || len(level) > MaxLength {
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
