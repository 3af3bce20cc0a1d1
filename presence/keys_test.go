package presence

import (
	"strings"
	"testing"
)

// TestMemberKeyRoundTrip: a member key is three tokens of KV's key bytes,
// and gives back its channel, conn and node, for channels of every
// allowed byte and length.
func TestMemberKeyRoundTrip(t *testing.T) {
	t.Parallel()
	conn := member("node-1_X", 7, "").Conn
	for _, channel := range []string{"a", "a.b", "user:ann@example.com", "x-y_z.1:2@3", strings.Repeat("z", MaxChannelLen), strings.Repeat("a.", 127) + "a"} {
		key := memberKey(channel, conn)
		if strings.Count(key, ".") != 2 || strings.Trim(key, "-/_=.ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != "" {
			t.Fatalf("key %q of channel %q: not three tokens of KV key bytes", key, channel)
		}
		gotChannel, gotConn, ok := parseKey(key)
		if !ok || gotChannel != channel || gotConn != conn {
			t.Fatalf("parseKey(%q) = %q, %q, %v", key, gotChannel, gotConn, ok)
		}
		if _, _, node, _ := splitKey(key); node != "node-1_X" {
			t.Fatalf("splitKey(%q) node %q", key, node)
		}
		if !strings.HasPrefix(key, strings.TrimSuffix(channelFilter(channel), ">")) {
			t.Fatalf("key %q outside its channel's filter %q", key, channelFilter(channel))
		}
	}
}

// TestDecodeMember: the stored JSON when it is there, else what the key
// says.
func TestDecodeMember(t *testing.T) {
	t.Parallel()
	m := member("n", 1, "ann")
	key := memberKey("room", m.Conn)
	if got, ok := decodeMember(key, []byte(`{"conn":"`+m.Conn+`","user":"ann","node":"n"}`)); !ok || got.User != "ann" {
		t.Fatalf("from JSON: %+v, %v", got, ok)
	}
	for _, value := range []string{"", "not json", `{"user":"x"}`} {
		if got, ok := decodeMember(key, []byte(value)); !ok || got.Conn != m.Conn || got.Node != "n" || got.User != "" {
			t.Fatalf("from key, value %q: %+v, %v", value, got, ok)
		}
	}
	if _, ok := decodeMember("nodots", nil); ok {
		t.Fatal("a key of another shape decoded")
	}
}

// FuzzParseKey: parseKey never panics, and what it accepts is a key
// memberKey would write.
func FuzzParseKey(f *testing.F) {
	for _, seed := range []string{"", ".", "..", "a.b", "a.b.c", "YQ.n.00", "YQ.n.0.0", "!!.n.x", memberKey("room", member("n", 1, "").Conn)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, key string) {
		channel, conn, ok := parseKey(key)
		if ok && memberKey(channel, conn) != key && channelToken(channel)+"."+conn != key {
			t.Fatalf("parseKey(%q) = %q, %q: not a key memberKey writes", key, channel, conn)
		}
	})
}
