package wireproto

import "github.com/wsgate/wsgate/wire"

// Protocol is the subprotocol a client offers in Sec-WebSocket-Protocol to
// speak Protobuf on /ws; the server echoes it when it accepts.
const Protocol = "wsgate.v1.proto"

// The refusals of this protocol that the JSON one does not have; the
// others are wire's sentinels (ParseCommand).
var (
	ErrNotClientFrame = &wire.Error{Code: wire.CodeBadProtobuf, Message: "frame is not a wsgate.v1.ClientFrame"}
	ErrNoCommand      = &wire.Error{Code: wire.CodeUnknownType, Message: "the ClientFrame carries no command this server knows: subscribe, unsubscribe, publish, history, refresh or pong"}
	ErrTextFrame      = &wire.Error{Code: wire.CodeUnsupported, Message: "text frames are not part of wsgate.v1.proto: send a binary ClientFrame"}
)
