package tuning

import (
	_ "embed"
	"fmt"
	"strings"
)

// Scope says where a sysctl key's value lives.
type Scope string

const (
	// ScopeNetns keys hold one value per network namespace.
	ScopeNetns Scope = "netns"
	// ScopeGlobal keys hold one value per host.
	ScopeGlobal Scope = "global"
)

// Kind says how apply.sh treats a key's live value.
type Kind string

const (
	// KindSet keys take the profile's value.
	KindSet Kind = "set"
	// KindRaise keys are capacity ceilings: never lowered, each field
	// becomes the larger of the live and the profile's value.
	KindRaise Kind = "raise"
)

// Key is one line of tuning/keys.conf.
type Key struct {
	Name  string
	Scope Scope
	Kind  Kind
}

//go:embed keys.conf
var keysConf string

// Keys returns every sysctl key a profile may set, in keys.conf order.
func Keys() []Key {
	keys, err := parseKeys(keysConf)
	if err != nil {
		panic("tuning: keys.conf: " + err.Error()) // a test parses it first
	}
	return keys
}

// LookupKey returns the keys.conf entry for name.
func LookupKey(name string) (Key, bool) {
	for _, k := range Keys() {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

func parseKeys(text string) ([]Key, error) {
	var keys []Key
	for i, line := range strings.Split(text, "\n") {
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("line %d: want KEY SCOPE KIND, got %q", i+1, line)
		}
		k := Key{Name: f[0], Scope: Scope(f[1]), Kind: Kind(f[2])}
		if k.Scope != ScopeNetns && k.Scope != ScopeGlobal {
			return nil, fmt.Errorf("line %d: scope %q: want netns or global", i+1, f[1])
		}
		if k.Kind != KindSet && k.Kind != KindRaise {
			return nil, fmt.Errorf("line %d: kind %q: want set or raise", i+1, f[2])
		}
		keys = append(keys, k)
	}
	return keys, nil
}
