package bench

import (
	"bytes"
)

// stampMarker starts every stamp; receivers find it anywhere in a frame, so
// the server's envelope around the published data does not matter.
const stampMarker = "wsb1 "

// minPayload is the smallest payload AppendPayload makes: the quoted marker
// and four numbers of typical width.
const minPayload = 48

// Stamp is what a sender writes into each message.
type Stamp struct {
	Publisher uint32 // sender number; sequence numbers count per publisher
	Seq       uint32 // from 1
	Intended  int64  // unix nanoseconds when the message was due to be sent
	Delay     int64  // nanoseconds it went out after Intended (≥ 0)
}

// AppendPayload appends s as a JSON string of at least size bytes, quotes
// included, padded with 'x': "wsb1 <publisher> <seq> <intended> <delay> xxx".
// The result is a valid JSON value for a publish request's "data".
func AppendPayload(dst []byte, s Stamp, size int) []byte {
	start := len(dst)
	dst = append(dst, '"')
	dst = appendStamp(dst, s)
	for len(dst)-start < size-1 {
		dst = append(dst, 'x')
	}
	return append(dst, '"')
}

// ParseStamp finds a stamp in frame. ok is false when there is none or it
// is malformed.
func ParseStamp(frame []byte) (s Stamp, ok bool) {
	i := bytes.Index(frame, []byte(stampMarker))
	if i < 0 {
		return Stamp{}, false
	}
	p := frame[i+len(stampMarker):]
	var n [4]uint64
	for k := range n {
		v, rest, ok := parseUint(p)
		if !ok {
			return Stamp{}, false
		}
		n[k], p = v, rest
	}
	if n[0] > 1<<32-1 || n[1] > 1<<32-1 {
		return Stamp{}, false
	}
	return Stamp{Publisher: uint32(n[0]), Seq: uint32(n[1]), Intended: int64(n[2]), Delay: int64(n[3])}, true
}

// parseUint reads decimal digits followed by one space.
func parseUint(p []byte) (v uint64, rest []byte, ok bool) {
	i := 0
	for i < len(p) && i < 19 && p[i] >= '0' && p[i] <= '9' {
		v = v*10 + uint64(p[i]-'0')
		i++
	}
	if i == 0 || i >= len(p) || p[i] != ' ' {
		return 0, nil, false
	}
	return v, p[i+1:], true
}
