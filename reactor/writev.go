//go:build linux

package reactor

import (
	"errors"

	"golang.org/x/sys/unix"
)

// iovMax is the most buffers one writev takes (UIO_MAXIOV on Linux).
const iovMax = 1024

// writeDirect writes frames to the socket of a connection whose gnet
// outbound buffer is empty, as far as the kernel takes them, and returns
// what it did not take: the unsent tail of a frame it took in part (head)
// and the frames after it. Runs on the connection's loop, which makes
// writing beside gnet safe: gnet writes only from the loop, and only when
// its buffer holds bytes.
func (l *loop) writeDirect(fd int, frames [][]byte) (head []byte, rest [][]byte) {
	for len(frames) > 0 {
		batch := frames[:min(len(frames), iovMax)]
		n, err := l.writev(fd, batch)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				return nil, frames
			}
			// A broken connection: gnet sees the error on its next read
			// or write and closes it; nothing more to send now.
			return nil, nil
		}
		for n > 0 && len(frames) > 0 {
			if n < len(frames[0]) {
				return frames[0][n:], frames[1:]
			}
			n -= len(frames[0])
			frames = frames[1:]
		}
	}
	return nil, nil
}

// writev is writev(2) with the loop's reusable iovec array, so a batch
// costs no allocation.
func (l *loop) writev(fd int, bufs [][]byte) (int, error) {
	iov := l.iovecs[:0]
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		v := unix.Iovec{Base: &b[0]}
		v.SetLen(len(b))
		iov = append(iov, v)
	}
	l.iovecs = iov
	if len(iov) == 0 {
		return 0, nil
	}
	return rawWritev(fd, iov)
}
