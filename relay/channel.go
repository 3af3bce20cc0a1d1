package relay

import "github.com/wsgate/wsgate/wire"

// MaxChannelLength is wire.MaxChannelLength, the longest channel name.
const MaxChannelLength = wire.MaxChannelLength

// ValidChannel is wire.ValidChannel: the channel-name rule, which keeps NATS
// wildcards and empty tokens out of the subjects a channel maps to. The
// rule lives in wire, the client protocol; relay repeats it for callers that
// hold only a relay.
func ValidChannel(name string) bool { return wire.ValidChannel(name) }
