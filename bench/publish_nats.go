package bench

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
)

// natsSender publishes the raw JSON data straight on the subject wsgate
// nodes subscribe to, as a backend would: it measures the bus-to-node path
// without any node's API in front.
type natsSender struct {
	nc     *nats.Conn
	prefix string
}

func dialNATSSender(url, prefix string) (*natsSender, error) {
	nc, err := nats.Connect(url, nats.Name("wsbench"))
	if err != nil {
		return nil, fmt.Errorf("connect to NATS %s: %w", url, err)
	}
	return &natsSender{nc: nc, prefix: prefix}, nil
}

// send hands the message to nats.go, which writes it from its own flusher;
// a refusal (the connection is down) is definite.
func (s *natsSender) send(_ context.Context, channel string, data []byte) (bool, error) {
	if err := s.nc.Publish(s.prefix+"."+channel, data); err != nil {
		return true, err
	}
	return false, nil
}

func (s *natsSender) close() error {
	err := s.nc.Flush()
	s.nc.Close()
	return err
}
