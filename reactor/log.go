package reactor

import (
	"context"
	"fmt"
	"log/slog"
)

// gnetLogger routes gnet's printf-style logs to slog, and counts the
// accept failures it reports (the only place gnet tells of them).
type gnetLogger struct {
	l            *slog.Logger
	acceptFailed func(error)
}

// acceptFailure is the format gnet logs a failed accept with
// (acceptor_unix.go), its one argument the errno.
const acceptFailure = "Accept() failed due to error: %v"

func (g gnetLogger) Debugf(f string, a ...any) { g.log(slog.LevelDebug, f, a) }
func (g gnetLogger) Infof(f string, a ...any)  { g.log(slog.LevelInfo, f, a) }
func (g gnetLogger) Warnf(f string, a ...any)  { g.log(slog.LevelWarn, f, a) }
func (g gnetLogger) Errorf(f string, a ...any) {
	if f == acceptFailure && len(a) == 1 && g.acceptFailed != nil {
		if err, ok := a[0].(error); ok {
			g.acceptFailed(err)
		}
	}
	g.log(slog.LevelError, f, a)
}
func (g gnetLogger) Fatalf(f string, a ...any) { g.log(slog.LevelError, f, a) }

func (g gnetLogger) log(level slog.Level, f string, a []any) {
	if g.l.Enabled(context.Background(), level) {
		g.l.Log(context.Background(), level, fmt.Sprintf(f, a...), "component", "gnet")
	}
}
