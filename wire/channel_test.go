package wire_test

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/wire"
)

func TestValidChannel(t *testing.T) {
	longest := strings.Repeat("a", wire.MaxChannelLength)
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"single level", "news", true},
		{"levels", "chat.room.42", true},
		{"every symbol", "a-b_c:d@e", true},
		{"one byte", "x", true},
		{"upper case and digits", "ABC.xyz.0123456789", true},
		{"symbols only", "_.-.:.@", true},
		{"255 bytes", longest, true},
		{"255 bytes in levels", strings.Repeat("ab.", 84) + "abc", true},

		{"empty", "", false},
		{"256 bytes", longest + "a", false},
		{"256 bytes in levels", strings.Repeat("ab.", 85) + "a", false},
		{"leading dot", ".a", false},
		{"trailing dot", "a.", false},
		{"doubled dot", "a..b", false},
		{"dot only", ".", false},
		{"space", "a b", false},
		{"tab", "a\tb", false},
		{"NATS wildcard *", "a*", false},
		{"NATS wildcard * as a level", "a.*", false},
		{"NATS wildcard >", "a>", false},
		{"NATS wildcard > as a level", "a.>", false},
		{"slash", "a/b", false},
		{"non-ASCII", "é", false},
		{"non-ASCII after a valid prefix", "caf\xc3\xa9", false},
		{"NUL", "a\x00", false},
		{"DEL", "a\x7f", false},
		{"quote (would need JSON escaping)", `a"b`, false},
		{"backslash (would need JSON escaping)", `a\b`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := wire.ValidChannel(tt.in); got != tt.want {
				t.Errorf("ValidChannel(%q) (%d bytes) = %v, want %v", tt.in, len(tt.in), got, tt.want)
			}
		})
	}
}

// TestValidChannelEveryByte checks each of the 256 byte values alone, at the
// start, in the middle and at the end of a name against the documented set.
// The dot, a separator, is covered by TestValidChannel.
func TestValidChannelEveryByte(t *testing.T) {
	allowed := func(b byte) bool {
		return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' ||
			b == '_' || b == '-' || b == ':' || b == '@'
	}
	for i := range 256 {
		if i == '.' {
			continue
		}
		b := string([]byte{byte(i)})
		want := allowed(byte(i))
		for _, name := range []string{b, b + "x", "x" + b + "x", "x" + b, "x." + b} {
			if got := wire.ValidChannel(name); got != want {
				t.Errorf("ValidChannel(%q) = %v, want %v", name, got, want)
			}
		}
	}
}

// channelRE is a naive reference for ValidChannel (without the length cap).
var channelRE = regexp.MustCompile(`^[A-Za-z0-9_:@-]+(\.[A-Za-z0-9_:@-]+)*$`)

func naiveValidChannel(name string) bool {
	return len(name) <= wire.MaxChannelLength && channelRE.MatchString(name)
}

// FuzzValidChannel compares ValidChannel with the regular expression above.
func FuzzValidChannel(f *testing.F) {
	for _, s := range []string{"", "news", "chat.room.42", "a..b", ".a", "a.", "a*", "a>", "é", "a\x00",
		strings.Repeat("a", 255), strings.Repeat("a", 256), strings.Repeat("a.", 128)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if got, want := wire.ValidChannel(name), naiveValidChannel(name); got != want {
			t.Errorf("ValidChannel(%q) = %v, reference says %v", name, got, want)
		}
	})
}

// TestValidChannelLevel: a level is a channel name without dots.
func TestValidChannelLevel(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"news", true}, {"a-b_c:d@e", true}, {strings.Repeat("a", wire.MaxChannelLength), true},
		{"", false}, {"a.b", false}, {".", false}, {"*", false}, {">", false}, {"é", false},
		{strings.Repeat("a", wire.MaxChannelLength+1), false},
	} {
		if got := wire.ValidChannelLevel(tc.in); got != tc.want {
			t.Errorf("ValidChannelLevel(%.20q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// A valid name needs no escaping in JSON: the frames copy it between
// quotes as it is.
func TestValidChannelNeedsNoJSONEscaping(t *testing.T) {
	for i := range 256 {
		name := string([]byte{byte(i)})
		if !wire.ValidChannel(name) {
			continue
		}
		if got, _ := json.Marshal(name); string(got) != `"`+name+`"` {
			t.Errorf("byte %#x is valid in a name but JSON writes it %s", i, got)
		}
	}
}

// The rule's text states the bound it enforces.
func TestChannelRuleStatesTheBound(t *testing.T) {
	if !strings.Contains(wire.ChannelRule, "1-"+strconv.Itoa(wire.MaxChannelLength)+" bytes") {
		t.Errorf("ChannelRule %q does not say 1-%d bytes", wire.ChannelRule, wire.MaxChannelLength)
	}
}
