package proxy

import "fmt"

// Version selects which PROXY protocol versions a listener accepts.
type Version uint8

const (
	Off Version = iota // no header expected
	V1                 // text header only
	V2                 // binary header only
	Any                // either
)

var versionNames = [...]string{Off: "off", V1: "v1", V2: "v2", Any: "any"}

// ParseVersion reads a configuration value: "off", "v1", "v2" or "any".
func ParseVersion(s string) (Version, error) {
	for v, name := range versionNames {
		if s == name {
			return Version(v), nil
		}
	}
	return Off, fmt.Errorf("proxy: unknown PROXY protocol version %q (want off, v1, v2 or any)", s)
}

// String returns the name ParseVersion accepts.
func (v Version) String() string {
	if int(v) < len(versionNames) {
		return versionNames[v]
	}
	return fmt.Sprintf("Version(%d)", uint8(v))
}

// accepts reports whether a listener set to v takes a header of version got.
func (v Version) accepts(got Version) bool {
	return v == got || v == Any
}
