// Package relay carries publications between wsgate nodes. It owns the
// Relay contract and its implementations; it knows nothing of sockets or
// WebSocket frames.
//
// # Contract
//
// The gateway (package reactor) implements Handler and hands it to the relay
// with Start. From then on:
//
//   - Publish(channel, data) delivers data to every subscriber of channel on
//     every node, including this one, at most once each (core NATS semantics:
//     no history, no redelivery). Publications from one publisher on one
//     node keep their order. The local delivery is done before Publish
//     returns; the other nodes get it later. An error means it went nowhere.
//   - Interest(channel, true) is called when the first local subscriber of a
//     channel appears and Interest(channel, false) when the last one leaves.
//     A relay may then ask its bus only for channels this node needs, so a
//     node with per-user channels does not receive the whole cluster's
//     traffic. Changes take effect in the order they were made.
//   - Handler.Deliver is called for every publication this node must fan
//     out. data is valid only during the call; Deliver copies what it keeps.
//     Deliver may be called from any goroutine, concurrently.
//   - Publish, Interest, Status and Stats never wait for the bus, whatever
//     state it is in (down, reconnecting, or a connected server that has
//     stopped reading): the reactor calls Publish from its event loops and
//     Interest under its hub lock, and /readyz and /api/stats call Status
//     and Stats. Only Close may wait, for a bounded grace.
//
// # Implementations
//
// Local is the in-process default: Publish calls Deliver directly, so one
// process is a complete single-node gateway with no bus at all. The NATS
// relay implements the same contract across hosts.
//
// # The NATS relay's goroutines
//
// nats.go blocks: Publish waits on a full write buffer while a write to a
// stalled socket lasts (up to WriteTimeout), Subscribe and Unsubscribe take
// the connection lock, which that write holds, and so do its Status and
// Stats. So the relay's callers never call it:
//
//   - Publish copies the publication into the publish queue (bounded by
//     PublishBuffer bytes, each publication charged its subject, data and
//     PublicationOverhead, and by PublishBufferMsgs) and returns; a full
//     queue refuses it (ErrQueueFull, or ErrBufferFull while NATS is
//     unreachable). The queue's memory is mapped outside the Go heap, so
//     what it holds costs the node its charge, not the twice that the
//     collector lets a live heap reach (queue.go).
//   - Interest updates the set of wanted channels and queues the channel
//     for the bus goroutine while what is wanted differs from what the bus
//     has: a name turned on and off before the bus got to it leaves
//     nothing behind, so the backlog is bounded by the node's channels and
//     the bus's, however many names churn while the bus is stalled.
//   - The bus goroutine alone calls nats.go for them: it applies interest
//     changes and hands queued publications to the client, in order. While
//     NATS is unreachable it leaves them queued (the outage buffer); after
//     a reconnection it waits ReplayDelay before sending what was held, so
//     the other nodes have subscribed again.
//   - nats.go's connection callbacks keep the relay's state (connected or
//     not, reconnections), which Status and Stats read with the queue's and
//     the interest set's counts. They hold those locks only for a few
//     operations, never across I/O.
//   - The dispatcher goroutine hands messages from the bus (through the
//     inbox, InboxSize messages) to the Handler. A message that finds the
//     inbox full is dropped by nats.go and counted in Stats.Dropped.
//
// Without Required, DialNATS returns even when NATS is down: the node
// serves local traffic, reports "NATS connecting", holds publications and
// joins the cluster when NATS appears. Close refuses new publications,
// gives what is queued CloseGrace to reach NATS, counts the rest in
// Stats.Lost with a warning in the log, and ends every goroutine.
//
// # The embedded server
//
// StartEmbeddedNATS runs nats-server in the process for a small cluster. It
// requires the cluster's credentials (a token, a user and password, or a
// client certificate) and refuses to listen beyond loopback without them:
// the bus carries every channel, so an open port would bypass every
// permission the gateway checks. Its monitoring binds loopback unless told
// otherwise, and it caps connections at MaxConns.
package relay
