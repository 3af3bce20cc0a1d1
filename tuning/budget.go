package tuning

// The per-connection budget. These figures must match BENCHMARKS.md
// (docs/tuning.md, "Per-connection memory").
const (
	// KernelBytesPerConn is the kernel memory of one idle, established TCP
	// socket: tcp_sock (≈ 2.5 KB) plus its socket inode, file, dentry and
	// epoll item, ≈ 4 KB measured on this project's reference VM. None of it
	// is charged to net.ipv4.tcp_mem, which counts only buffered data.
	KernelBytesPerConn = 4096

	// UserBytesPerConn is wsgate's own resident memory per idle connection
	// subscribed to one channel, rounded up to 1 KiB from the figures in
	// BENCHMARKS.md ("Idle subscribed connections", "Scale-out" and the
	// IdleSubscribed Go benchmark), which are the source; none is copied
	// here.
	UserBytesPerConn = 1024

	// BytesPerConn is the whole idle budget of one connection.
	BytesPerConn = KernelBytesPerConn + UserBytesPerConn

	// TCPMemBytesPerSocket is the least a socket with any queued data is
	// charged against net.ipv4.tcp_mem: one page (SK_MEM_QUANTUM). When
	// every subscriber is backlogged at once (a broadcast to all of them),
	// tcp_mem's high mark must cover this much per connection.
	TCPMemBytesPerSocket = 4096

	// FDHeadroom is the file descriptors a wsgate process holds besides its
	// connections: listeners, epoll and eventfds per loop, the admin API and
	// its clients, NATS, logs, and handshakes still in flight.
	FDHeadroom = 1024

	// ProfilePageSize is the page size the named profiles assume for
	// tcp_mem, which the kernel counts in pages. Tailored profiles use the
	// host's.
	ProfilePageSize = 4096
)
