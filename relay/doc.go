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
//     node keep their order.
//   - Interest(channel, true) is called when the first local subscriber of a
//     channel appears and Interest(channel, false) when the last one leaves.
//     A relay may then ask its bus only for channels this node needs, so a
//     node with per-user channels does not receive the whole cluster's
//     traffic.
//   - Handler.Deliver is called for every publication this node must fan
//     out. data is valid only during the call; Deliver copies what it keeps.
//     Deliver may be called from any goroutine, concurrently.
//
// # Implementations
//
// Local is the in-process default: Publish calls Deliver directly, so one
// process is a complete single-node gateway with no bus at all. The NATS
// relay implements the same contract across hosts.
package relay
