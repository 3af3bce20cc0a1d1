package bench

import (
	"strconv"
)

// Payload kinds: what fills a message around its stamp.
const (
	// PayloadFiller is a JSON string, the stamp padded with 'x'
	// (AppendPayload): the default, which any compressor shrinks to almost
	// nothing, so it says nothing about compression.
	PayloadFiller = "filler"
	// PayloadJSON is a JSON object of the kind a gateway fans out: the
	// stamp, an envelope and a list of quotes with repeated field names and
	// values that differ from entry to entry and from message to message
	// (AppendJSONPayload). It compresses as market or chat JSON does, to
	// about a third.
	PayloadJSON = "json"
)

// appendPayloadKind appends a payload of the given kind (PayloadFiller
// when empty).
func appendPayloadKind(dst []byte, kind string, s Stamp, size int) []byte {
	if kind == PayloadJSON {
		return AppendJSONPayload(dst, s, size)
	}
	return AppendPayload(dst, s, size)
}

// symbols and venues are the vocabularies the quotes draw from.
var (
	symbols = [...]string{"AAPL", "MSFT", "GOOG", "AMZN", "NVDA", "META", "TSLA", "ORCL", "INTC", "AMD",
		"NFLX", "ADBE", "CSCO", "PEP", "AVGO", "QCOM", "TXN", "SBUX", "PYPL", "ABNB"}
	venues = [...]string{"XNAS", "XNYS", "ARCX", "BATS", "IEXG"}
)

// AppendJSONPayload appends s as a JSON object of at least size bytes:
//
//	{"stamp":"wsb1 <publisher> <seq> <intended> <delay> ","channel":"markets:quotes",
//	 "offset":…,"quotes":[{"symbol":"NVDA","bid":412.07,"ask":412.11,"size":300,
//	 "venue":"XNAS","ts":…},…],"ref":"<hex>"}
//
// Quotes are added while they fit in size; the hex trace reference then
// pads the object to size exactly (unless the envelope alone is larger).
// Every value is derived from the stamp, so messages differ from each other
// as real ones do, and the result is the same for the same stamp. It
// allocates only when dst lacks room.
func AppendJSONPayload(dst []byte, s Stamp, size int) []byte {
	const tail = `],"ref":""}`
	start := len(dst)
	dst = append(dst, `{"stamp":"`...)
	dst = appendStamp(dst, s)
	dst = append(dst, `","channel":"markets:quotes","offset":`...)
	dst = strconv.AppendUint(dst, uint64(s.Seq)*37+uint64(s.Publisher)<<32, 10)
	dst = append(dst, `,"quotes":[`...)
	h := uint64(s.Publisher)<<32 | uint64(s.Seq)
	ms := s.Intended / 1e6
	for i := 0; ; i++ {
		mark := len(dst)
		h = splitmix64(h)
		if i > 0 {
			dst = append(dst, ',')
		}
		bid := 1000 + h%90000 // hundredths
		dst = append(dst, `{"symbol":"`...)
		dst = append(dst, symbols[h>>20%uint64(len(symbols))]...)
		dst = append(dst, `","bid":`...)
		dst = appendCents(dst, bid)
		dst = append(dst, `,"ask":`...)
		dst = appendCents(dst, bid+1+h>>40%25)
		dst = append(dst, `,"size":`...)
		dst = strconv.AppendUint(dst, (1+h>>28%50)*100, 10)
		dst = append(dst, `,"venue":"`...)
		dst = append(dst, venues[h>>50%uint64(len(venues))]...)
		dst = append(dst, `","ts":`...)
		dst = strconv.AppendInt(dst, ms-int64(h>>56), 10)
		dst = append(dst, '}')
		if len(dst)-start+len(tail) > size {
			if i > 0 || len(dst)-start+len(tail) > size+64 {
				dst = dst[:mark]
			}
			break
		}
	}
	dst = append(dst, `],"ref":"`...)
	const hex = "0123456789abcdef"
	for k := 0; len(dst)-start < size-2; k++ {
		if k%16 == 0 {
			h = splitmix64(h)
		}
		dst = append(dst, hex[h>>(4*(k%16))&15])
	}
	return append(dst, `"}`...)
}

// appendStamp appends "wsb1 <publisher> <seq> <intended> <delay> ", which
// ParseStamp finds anywhere in a frame.
func appendStamp(dst []byte, s Stamp) []byte {
	dst = append(dst, stampMarker...)
	dst = strconv.AppendUint(dst, uint64(s.Publisher), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, uint64(s.Seq), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, s.Intended, 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, max(s.Delay, 0), 10)
	return append(dst, ' ')
}

// appendCents appends v hundredths as a decimal with two places.
func appendCents(dst []byte, v uint64) []byte {
	dst = strconv.AppendUint(dst, v/100, 10)
	return append(dst, '.', byte('0'+v/10%10), byte('0'+v%10))
}

// splitmix64 is one step of SplitMix64: a cheap, well-mixed sequence.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
