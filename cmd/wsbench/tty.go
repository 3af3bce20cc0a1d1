package main

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// isTerminal reports whether w is a terminal: a file on which the ioctl
// that reads terminal attributes succeeds. (golang.org/x/term does the same;
// x/sys is already a dependency.) Anything else, a pipe or a buffer, is not.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
