// Package presence knows who is subscribed to which channel, across the
// cluster, and tells the nodes that ask when someone joins or leaves. It
// owns the Store contract and its two implementations: Local for a single
// node, NATS (JetStream KV) for a cluster. It knows nothing of sockets or
// frames; the gateway calls it.
//
// # Contract
//
//   - Join(channel, m) and Leave(channel, m) are called by the gateway's
//     event loops when a connection subscribes to or leaves a channel with
//     presence. They never block and never do I/O: they change this node's
//     member set and queue the write, or, over the queue's bound, drop it
//     and count it (Stats.Dropped). Both are idempotent.
//   - Watch(channel) is called when the node's first local presence
//     subscriber of channel appears, Unwatch when its last leaves; they
//     only edit a set, and never block either. From then on the handler
//     given to Start receives the channel's join and leave events. Events
//     are of changes after the watch is in place (for NATS, a round trip
//     after Watch); the current members are not replayed: List them.
//   - The handler runs on a goroutine of the store, never two at once for
//     one channel, and gets a channel's events in the order the store
//     applied them. It must return quickly: it holds back later events.
//   - List and Count serve the admin API. They may wait for the bus, as
//     long as their context lets them; with NATS unreachable they fail at
//     once (ErrUnavailable). List pages by Conn: members with Conn > after,
//     at most limit (1..1000), sorted, and Next to continue from.
//   - Stats never blocks. Close is the only other call that may wait.
//
// # Local
//
// Local holds the members in maps under one lock; Join and Leave take it
// for a few map operations, and List releases it every 1,024 members it
// scans. Events of watched channels wait in a queue (DefaultQueueSize,
// 65,536; past it they are dropped and counted) for one dispatcher
// goroutine.
//
// # NATS: data
//
// Two KV buckets, created or updated by every node at start (the same
// configuration on every node):
//
//   - Members (NATSConfig.Bucket, "wsgate_presence"): key
//     "<base64url(channel)>.<conn>" = "<channel token>.<node>.<32 hex>",
//     value the member's JSON. Channel names may hold ':' and '@', which
//     keys may not, and dots, which would split them, so the channel is
//     one base64url token: one channel's members are the keys "<token>.>"
//     and one node's "*.<node>.*". A leave purges the key, leaving a marker
//     that carries the member (so a leave event says who left) and
//     expires after a minute. The bucket republishes every write it
//     stores on "wsgate.presence.<bucket>.<key>" (JetStream RePublish):
//     those are the events.
//   - Nodes (NATSConfig.NodesBucket, "wsgate_nodes"): key "<node>", value a
//     random ID of the node's process; MaxAge NodeTTL, so a heartbeat not
//     renewed within NodeTTL expires, and the server then leaves a marker
//     every node sees.
//
// # NATS: goroutines
//
//   - Join and Leave update this node's member set (the truth for its own
//     members) and queue the write, under one lock, so one member's writes
//     are queued in the order of its changes.
//   - The writer alone writes this node's members: it takes the queue in
//     order, a batch of up to 1,024 at a time, sends them pipelined and
//     waits for the batch's acknowledgements. While NATS is unreachable it
//     sends nothing and the queue fills (QueueSize, 65,536), then drops.
//     Lost writes (dropped, failed, or purged by a janitor that took this
//     node for dead) are repaired by a reconciliation: the writer reads
//     this node's keys, purges those it no longer has and puts those
//     missing; a watcher may then see a join or leave twice.
//   - The heartbeat goroutine renews the node's key every NodeTTL/3, at
//     the revision it last wrote. If the key expired under it (the node
//     was cut off for NodeTTL and declared dead), it writes the key again
//     and then has the writer put every member back.
//   - The node watcher keeps the view of live nodes from the nodes
//     bucket: a node is live from a heartbeat seen until its key's removal
//     or expiry marker, or until no heartbeat was seen for NodeTTL +
//     NodeTTL/3 (should a marker be missed). List and Count leave out the
//     members of nodes not live.
//   - The janitor is the live node with the smallest ID. When a node's key
//     goes, it checks with the server that the key is gone, reads the
//     node's members and purges each at the revision read (a node that
//     comes back and writes its members again keeps them), counting
//     Stats.Expired; watchers get a leave event for each. A node that
//     becomes janitor first sweeps the bucket for members of nodes with
//     no key at all (dead while nobody watched). A restarted node purges
//     what its earlier process left before NewNATS returns.
//   - The watch manager subscribes to the event subject of each watched
//     channel (core NATS: no server-side state per watcher), all into one
//     inbox read by one event dispatcher, which calls the handler.
//
// # NATS: guarantees
//
// Ordering: one member's writes reach the bucket in the order of its Join
// and Leave calls, and one channel's events reach every watcher in the
// order the bucket stored them (one connection, one writer, one
// dispatcher). A quick join then leave never ends as a ghost.
//
// No ghosts: when a node dies without Close (SIGKILL, power loss), its
// members are gone from List and Count within NodeTTL + NodeTTL/3 of its
// death (12 s by default), by this node's own clock. In practice the
// server expires the last heartbeat NodeTTL after it was written, plus
// its expiry check (under 0.35 s measured): members disappear within
// NodeTTL + 0.35 s, and the janitor's leave events start then and
// proceed at about 60,000 members a second. Should the expiry marker be
// missed, the leave events start within NodeTTL + 2*NodeTTL/3. They need
// a live node connected to NATS to act as janitor.
//
// Clean Close: the node purges its members (watchers get their leave
// events) and then its key, before Close returns (within 10 s each).
//
// NATS down: Join and Leave keep returning at once; up to QueueSize
// writes wait and the rest are dropped (Stats.Dropped), then repaired when
// NATS is back. List and Count fail with ErrUnavailable. Events are at
// most once: a change stored while this node is cut off from NATS never
// reaches its handler (List after it is back). If the outage lasts
// NodeTTL, the other nodes take this node for dead and remove its
// members; when it is back, it restores them. Node IDs must be unique:
// two processes with one ID fight over its heartbeat.
//
// # NATS: costs and bounds
//
// List and Count read every key of the channel (one short-lived ordered
// consumer each): O(members of the channel) time and bus traffic, O(limit)
// memory; Count reads keys without values. Writes: one KV message per
// Join or Leave. Per node: one map entry per member, one subscription per
// watched channel, six goroutines. Bounds: QueueSize pending writes
// (65,536), 65,536 events waiting for the dispatcher (past it nats.go
// drops them, counted in Stats.Dropped), NodeTTL (9 s) with heartbeats
// every NodeTTL/3, leave markers kept a minute.
package presence
