package presence

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

const (
	// leaveMarkerTTL is how long a leave (a purge marker on a member's
	// key) and a dead node's expiry marker stay in their bucket: long
	// enough for a watcher that lost its connection to come back and
	// replay them, short enough that the markers of a busy channel's
	// churn do not pile up (List and Count read past them).
	leaveMarkerTTL = time.Minute
	// setupTimeout bounds creating or updating both buckets.
	setupTimeout = 10 * time.Second
	// setupAttempts is how often NewNATS tries when another node creates
	// the same bucket at the same moment with another configuration.
	setupAttempts = 3
)

// EventSubjectPrefix starts the subjects on which the members bucket
// republishes its writes: "<EventSubjectPrefix>.<bucket>.<key>". Every
// node subscribes there for the channels it watches.
const EventSubjectPrefix = "wsgate.presence"

// eventPrefix is the prefix of the event subjects of bucket, with the
// trailing dot.
func eventPrefix(bucket string) string { return EventSubjectPrefix + "." + bucket + "." }

// bucketConfigs are the members and nodes buckets as cfg describes them.
//
// Members: one revision per key, no expiry (a member stays until it
// leaves or its node dies). LimitMarkerTTL is set for the per-message TTL
// it enables: leave markers expire after leaveMarkerTTL. Every write is
// republished as an event (see watchLoop).
//
// Nodes: MaxAge NodeTTL, so a heartbeat not renewed within NodeTTL
// expires; LimitMarkerTTL makes the server leave a marker when it does,
// which every node's watcher sees as that node's death.
func bucketConfigs(cfg NATSConfig) (members, nodes jetstream.KeyValueConfig) {
	members = jetstream.KeyValueConfig{
		Bucket:         cfg.Bucket,
		Description:    "wsgate presence: channel members, key <base64url(channel)>.<conn>",
		History:        1,
		Replicas:       cfg.Replicas,
		Storage:        jetstream.FileStorage,
		LimitMarkerTTL: leaveMarkerTTL,
		RePublish:      &jetstream.RePublish{Source: "$KV." + cfg.Bucket + ".>", Destination: eventPrefix(cfg.Bucket) + ">"},
	}
	nodes = jetstream.KeyValueConfig{
		Bucket:         cfg.NodesBucket,
		Description:    "wsgate presence: node heartbeats, key <node>",
		History:        1,
		TTL:            cfg.NodeTTL,
		Replicas:       cfg.Replicas,
		Storage:        jetstream.FileStorage,
		LimitMarkerTTL: leaveMarkerTTL,
	}
	return members, nodes
}

// ensureBuckets creates both buckets, or updates them to cfg. Nodes
// starting together race to create them; the loser of a race between two
// configurations retries, and updates.
func ensureBuckets(ctx context.Context, js jetstream.JetStream, cfg NATSConfig) (members, nodes jetstream.KeyValue, err error) {
	mcfg, ncfg := bucketConfigs(cfg)
	if members, err = ensureBucket(ctx, js, mcfg); err != nil {
		return nil, nil, err
	}
	if nodes, err = ensureBucket(ctx, js, ncfg); err != nil {
		return nil, nil, err
	}
	return members, nodes, nil
}

func ensureBucket(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (kv jetstream.KeyValue, err error) {
	for range setupAttempts {
		kv, err = js.CreateOrUpdateKeyValue(ctx, cfg)
		if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("presence: bucket %s: %w", cfg.Bucket, err)
	}
	return kv, nil
}
