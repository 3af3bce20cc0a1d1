package tuning

import (
	"fmt"
	"strings"
)

// SysctlLine is one assignment of a sysctl.d file.
type SysctlLine struct {
	Key      string
	Value    string   // fields separated by one space
	Optional bool     // written with a leading "-": a failure to set it is ignored
	Comments []string // the comment lines right above it, without "# "
	Line     int      // 1-based line number
}

// ParseSysctlConf reads sysctl.d(5) text the way tuning/apply.sh does:
// "#" and ";" start comment lines, a leading "-" marks an optional key,
// and "key = value" assigns.
func ParseSysctlConf(text string) ([]SysctlLine, error) {
	var lines []SysctlLine
	var comments []string
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		switch {
		case line == "":
			comments = nil
			continue
		case line[0] == '#' || line[0] == ';':
			comments = append(comments, strings.TrimSpace(line[1:]))
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: want key = value, got %q", i+1, line)
		}
		l := SysctlLine{Key: strings.TrimSpace(key), Value: strings.Join(strings.Fields(value), " "), Comments: comments, Line: i + 1}
		if strings.HasPrefix(l.Key, "-") {
			l.Key, l.Optional = strings.TrimSpace(l.Key[1:]), true
		}
		lines = append(lines, l)
		comments = nil
	}
	return lines, nil
}
