package wire_test

import (
	"fmt"

	"github.com/wsgate/wsgate/wire"
)

// A gateway's turn on one client frame: parse it, act, and answer with an
// ack or an error that repeats the command's id.
func Example() {
	const maxData = 64 << 10
	subscribed := map[string]bool{}
	for _, frame := range []string{
		`{"type":"subscribe","channel":"news","id":1}`,
		`{"type":"unsubscribe","channel":"sports","id":"u"}`,
		`{"type":"subscribe","channel":"news.*","id":2}`,
		`not json`,
	} {
		var reply []byte
		cmd, err := wire.ParseCommand([]byte(frame), maxData)
		switch {
		case err != nil:
			reply = wire.AppendError(reply, cmd.ID, err.Code, err.Message)
		case cmd.Kind == wire.Unsubscribe && !subscribed[cmd.Channel]:
			reply = wire.AppendError(reply, cmd.ID, wire.ErrNotSubscribed.Code, wire.ErrNotSubscribed.Message)
		default:
			subscribed[cmd.Channel] = cmd.Kind == wire.Subscribe
			if len(cmd.ID) > 0 { // success is silent without an id
				reply = wire.AppendAck(reply, cmd.ID)
			}
		}
		fmt.Printf("%s\n", reply)
	}
	fmt.Printf("%s\n", wire.AppendMessage(nil, "news", []byte(`{"title":"hi"}`)))
	// Output:
	// {"type":"ack","id":1}
	// {"type":"error","id":"u","code":"not_subscribed","message":"not subscribed to this channel"}
	// {"type":"error","id":2,"code":"bad_channel","message":"channel names are 1-255 bytes of letters, digits and _-:@ in dot-separated levels"}
	// {"type":"error","code":"bad_json","message":"frame is not a JSON object"}
	// {"type":"message","channel":"news","data":{"title":"hi"}}
}
