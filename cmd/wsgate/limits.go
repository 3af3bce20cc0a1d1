package main

import (
	"runtime"

	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/tuning"
)

// channelCost is the memory budgeted per channel when sizing
// --max-channels to the host: a channel costs about 1.2 KB (a topic per
// loop with subscribers, a hub entry, a bus subscription), so this leaves
// every channel room for its subscribers' share too.
const channelCost = 16 << 10

// sizeLimits fills the limits that depend on this host and on the rest of
// the command's configuration: --max-channels and --max-partial-bytes when
// not given, and the descriptors the reactor must leave out of
// --max-sockets.
func sizeLimits(cfg *reactor.Config, opts *options) {
	if cfg.MaxChannels == 0 {
		cfg.MaxChannels = defaultMaxChannels()
	}
	if cfg.MaxPartialBytes == 0 {
		cfg.MaxPartialBytes = defaultMaxPartialBytes()
	}
	cfg.ReservedFDs = reservedFDs(cfg.Loops, opts.adminMaxConns, opts.nats.reservedFDs()+opts.edge.reservedFDs())
}

// defaultMaxChannels sizes --max-channels to the memory this process may
// use: one channel per channelCost bytes, so channels alone can take no
// more than about a tenth of it. Without a reading it falls back to the
// reactor's default.
func defaultMaxChannels() int {
	mem, ok := usableMemory()
	if !ok {
		return reactor.DefaultMaxChannels
	}
	return int(max(mem/channelCost, 10_000))
}

// defaultMaxPartialBytes sizes --max-partial-bytes to a sixteenth of the
// memory this process may use, and no less than the reactor's default.
func defaultMaxPartialBytes() int {
	mem, ok := usableMemory()
	if !ok {
		return reactor.DefaultMaxPartialBytes
	}
	return int(max(mem/16, reactor.DefaultMaxPartialBytes))
}

// usableMemory is the memory this process may use: the host's, or its
// cgroup's limit when tighter.
func usableMemory() (int64, bool) {
	r, err := tuning.Read()
	if err != nil {
		return 0, false
	}
	mem := r.MemTotal
	if r.Cgroup != nil && r.Cgroup.Limit > 0 && r.Cgroup.Limit < mem {
		mem = r.Cgroup.Limit
	}
	return mem, true
}

// reservedFDs are the descriptors the node keeps out of --max-sockets for
// everything but WebSocket sockets: the reactor's own reserve (runtime,
// pollers, listeners, relay client, files), each admin connection with the
// file a metrics scrape opens beside it (/proc/self/*, one at a time), and
// what the NATS side may hold (natsOptions.reservedFDs: the node's client,
// the embedded server's listener and client connections) and the
// agent-check responder.
func reservedFDs(loops, adminConns, natsFDs int) int {
	if loops <= 0 {
		loops = runtime.GOMAXPROCS(0)
	}
	return reactor.DefaultReservedFDs + 4*loops + 2*adminConns + natsFDs
}
