package reactor

import (
	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"

	"github.com/wsgate/wsgate/wsproto"
)

// The closing handshake: our close frame, the wait for the peer's, and
// how a socket is let go (gracefully, or reset when the peer stopped
// reading).

// closeWith queues a close frame after whatever is already queued this
// turn, writes, and starts the closing handshake.
func (c *conn) closeWith(code ws.StatusCode, reason string) {
	if c.state != stateOpen {
		return
	}
	c.loop.eng.stats.closeSent(code)
	c.noteClose(code, reason)
	c.loop.out = wsproto.AppendClose(c.loop.out, code, reason)
	c.write()
	c.startClosing()
}

// startClosing waits for the peer to close after our close frame or
// rejection: reading the rest and discarding it, instead of closing at once,
// keeps the kernel from answering unread data with a reset that would
// destroy the response in flight. CloseTimeout bounds the wait. A refused
// handshake keeps counting as one (stateRefused) until the socket is gone:
// otherwise refusing a request would free a slot for the next while the
// refused socket lingers.
func (c *conn) startClosing() {
	if c.state == stateClosed {
		return // gnet closed it while we wrote: its fd may already be reused
	}
	l := c.loop
	if c.state == stateHandshake || c.state == stateHook {
		c.setState(stateRefused)
	} else {
		c.setState(stateClosing)
	}
	l.leaveAll(c)
	c.closeAt = l.clock() + l.ticks(l.eng.cfg.CloseTimeout)
	c.tryHalfClose()
	l.scheduleClosing(c)
}

// abandon closes c on a peer that has stopped reading: its closing
// handshake or its pong did not come in time. Bytes still unsent, in gnet
// or in the kernel, would leave the socket to the kernel in FIN-WAIT-1,
// its send buffer full, retrying for minutes toward a window that never
// opens; a reset frees it at once and tells the peer.
func (c *conn) abandon() {
	fd := c.gc.Fd()
	if c.gc.OutboundBuffered() > 0 || unsent(fd) {
		resetOnClose(fd)
	}
	_ = c.loop.el.Close(c.gc)
}

// unsent reports whether the kernel still holds bytes of fd's that the
// peer has not acknowledged (or cannot say).
func unsent(fd int) bool {
	n, err := unix.IoctlGetInt(fd, unix.SIOCOUTQ)
	return err != nil || n > 0
}

// resetOnClose makes fd's close send RST and drop what is unsent (SO_LINGER
// 0), leaving nothing behind in FIN-WAIT-1 or TIME_WAIT.
func resetOnClose(fd int) {
	_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
}

// tryHalfClose shuts our side for writing once gnet has sent everything, so
// the peer sees EOF after our last byte.
func (c *conn) tryHalfClose() {
	if c.closing() && !c.halfClosed && c.gc.OutboundBuffered() == 0 {
		_ = unix.Shutdown(c.gc.Fd(), unix.SHUT_WR)
		c.halfClosed = true
	}
}
