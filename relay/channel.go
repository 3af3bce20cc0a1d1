package relay

import "github.com/wsgate/wsgate/internal/channel"

// MaxChannelLength is the longest channel name, in bytes.
const MaxChannelLength = channel.MaxLength

// ValidChannel reports whether name is a channel name: 1 to
// MaxChannelLength bytes of ASCII letters, digits and "_ - : @", in levels
// separated by single dots ("chat.room.42"), with no empty level. The set
// leaves out NATS's wildcards ('*', '>'), whitespace and every other byte,
// so a channel maps to a NATS subject token for token and cannot inject a
// wildcard or an empty token. (The rule itself lives in internal/channel,
// shared with auth's channel patterns.)
func ValidChannel(name string) bool { return channel.Valid(name) }
