package presence

import (
	"strings"
	"testing"
)

func TestValidChannel(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		channel string
		ok      bool
	}{
		{"", false},
		{"a", true},
		{strings.Repeat("a", MaxChannelLen), true},
		{strings.Repeat("a", MaxChannelLen+1), false},
		{"A-z_0:9@x.y", true},
		{".a", false},
		{"a.", false},
		{"a..b", false},
		{"a b", false},
		{"a/b", false},
		{"a*", false},
		{"a>", false},
		{"é", false},
	} {
		if got := validChannel(c.channel); got != c.ok {
			t.Errorf("validChannel(%q) = %v, want %v", c.channel, got, c.ok)
		}
	}
}

func TestValidMember(t *testing.T) {
	t.Parallel()
	hex := strings.Repeat("0a", connHexLen/2)
	long := strings.Repeat("n", MaxNodeLen)
	for _, c := range []struct {
		m  Member
		ok bool
	}{
		{Member{Conn: "n." + hex, Node: "n"}, true},
		{Member{Conn: long + "." + hex, Node: long}, true},
		{Member{Conn: long + "n." + hex, Node: long + "n"}, false},
		{Member{Conn: "n." + hex, Node: "n", User: strings.Repeat("u", MaxUserLen)}, true},
		{Member{Conn: "n." + hex, Node: "n", User: strings.Repeat("u", MaxUserLen+1)}, false},
		{Member{Conn: "n." + hex[1:], Node: "n"}, false},
		{Member{Conn: "n." + hex + "0", Node: "n"}, false},
		{Member{Conn: "n." + strings.ToUpper(hex), Node: "n"}, false},
		{Member{Conn: "n" + hex + "0", Node: "n"}, false},
		{Member{Conn: "m." + hex, Node: "n"}, false},
		{Member{Conn: "n.m." + hex[2:], Node: "n.m"}, false},
		{Member{Conn: "." + hex, Node: ""}, false},
	} {
		if got := validMember(c.m); got != c.ok {
			t.Errorf("validMember(%+v) = %v, want %v", c.m, got, c.ok)
		}
	}
}
