package auth

import (
	"fmt"
	"strings"

	"github.com/wsgate/wsgate/wire"
)

// MaxPatterns caps the patterns of one claim ("subscribe" or "publish"), so
// a permission check costs at most this many comparisons.
const MaxPatterns = 64

// Pattern is a compiled channel pattern: levels separated by dots, each a
// channel-name level, "*" (one level) or, last, ">" (one or more levels).
// The zero Pattern matches nothing.
type Pattern struct {
	raw string
}

// CompilePattern checks s and returns it as a Pattern.
func CompilePattern(s string) (Pattern, error) {
	if len(s) == 0 || len(s) > wire.MaxChannelLength {
		return Pattern{}, fmt.Errorf("auth: pattern %q: want 1 to %d bytes", s, wire.MaxChannelLength)
	}
	rest := s
	for {
		level, tail, more := strings.Cut(rest, ".")
		switch {
		case level == ">":
			if more {
				return Pattern{}, fmt.Errorf("auth: pattern %q: \">\" must be the last level", s)
			}
		case level == "*":
		case !wire.ValidChannelLevel(level):
			return Pattern{}, fmt.Errorf("auth: pattern %q: level %q is not a channel level, \"*\" or \">\"", s, level)
		}
		if !more {
			return Pattern{raw: s}, nil
		}
		rest = tail
	}
}

// CompilePatterns compiles every pattern of list, at most MaxPatterns.
func CompilePatterns(list []string) ([]Pattern, error) {
	if len(list) > MaxPatterns {
		return nil, fmt.Errorf("auth: %d patterns, at most %d", len(list), MaxPatterns)
	}
	out := make([]Pattern, 0, len(list))
	for _, s := range list {
		p, err := CompilePattern(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// String returns the pattern as written.
func (p Pattern) String() string { return p.raw }

// Match reports whether the valid channel name ch matches p.
func (p Pattern) Match(ch string) bool {
	pat := p.raw
	if pat == "" {
		return false
	}
	for {
		pl, prest, pmore := strings.Cut(pat, ".")
		if pl == ">" {
			return ch != ""
		}
		cl, crest, cmore := strings.Cut(ch, ".")
		if cl == "" || pl != "*" && pl != cl {
			return false
		}
		if !pmore || !cmore {
			return pmore == cmore
		}
		pat, ch = prest, crest
	}
}

// MatchAny reports whether any pattern of list matches ch.
func MatchAny(list []Pattern, ch string) bool {
	for _, p := range list {
		if p.Match(ch) {
			return true
		}
	}
	return false
}
