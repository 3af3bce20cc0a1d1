package reactor

import (
	"bytes"
	"net/url"
	"strings"
	"unsafe"

	"github.com/wsgate/wsgate/wire"
)

// handshakeChannels appends the channels of ?channels=a,b (the parameter
// may repeat) in the upgrade request's query to dst. A query with no escapes
// is split where it lies: the strings alias query and are valid only while
// the request is (subscribe copies a name it keeps), so a connection's
// handshake allocates nothing for them. A query with escapes goes through
// net/url, and either way the result is the same (FuzzHandshakeChannels).
func handshakeChannels(query []byte, max int, dst []string) ([]string, error) {
	var err error
	if bytes.ContainsAny(query, "%+;") {
		dst, err = escapedQueryChannels(string(query), dst)
	} else {
		dst, err = plainQueryChannels(query, dst)
	}
	if err == nil && len(dst) > max {
		err = errTooManyQueryChannels
	}
	return dst, err
}

// plainQueryChannels reads the channels of a query with no escapes, in place.
func plainQueryChannels(query []byte, dst []string) ([]string, error) {
	for rest := query; len(rest) > 0; {
		var pair []byte
		pair, rest = cutByte(rest, '&')
		if key, value := cutByte(pair, '='); string(key) == "channels" && len(value) > 0 {
			var err error
			if dst, err = appendChannels(dst, unsafe.String(&value[0], len(value))); err != nil {
				return dst, err
			}
		}
	}
	return dst, nil
}

// escapedQueryChannels reads the channels of any query through net/url
// (which also refuses the semicolons it does not take as separators).
func escapedQueryChannels(query string, dst []string) ([]string, error) {
	values, err := url.ParseQuery(query)
	if err != nil {
		return dst, errBadQuery
	}
	for _, v := range values["channels"] {
		if dst, err = appendChannels(dst, v); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// appendChannels appends the names of a comma-separated list, skipping
// empty ones; a name that is not a valid channel is an error.
func appendChannels(dst []string, list string) ([]string, error) {
	for name := range strings.SplitSeq(list, ",") {
		if name == "" {
			continue
		}
		if !wire.ValidChannel(name) {
			return dst, errBadQueryChannel
		}
		dst = append(dst, name)
	}
	return dst, nil
}

// wantsHeartbeat reports whether the query asks for the application
// heartbeat: heartbeat=1 (or true).
func wantsHeartbeat(query []byte) bool {
	for rest := query; len(rest) > 0; {
		var pair []byte
		pair, rest = cutByte(rest, '&')
		if key, value := cutByte(pair, '='); string(key) == "heartbeat" {
			return string(value) == "1" || string(value) == "true"
		}
	}
	return false
}

// cutByte splits b around the first sep, or returns b whole and nothing.
func cutByte(b []byte, sep byte) (before, after []byte) {
	if i := bytes.IndexByte(b, sep); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}
