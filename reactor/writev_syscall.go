//go:build linux

package reactor

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawWritev calls writev(2) on iovecs the caller owns: x/sys's Writev
// builds a fresh iovec slice per call, which would be an allocation per
// batch on the fan-out path. (The reactor's other unsafe is query.go's
// in-place ?channels= split.)
func rawWritev(fd int, iov []unix.Iovec) (int, error) {
	n, _, errno := syscall.Syscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
	if errno != 0 {
		return int(n), errno
	}
	return int(n), nil
}
