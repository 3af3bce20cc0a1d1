package bench

import (
	"context"
	"strings"
	"testing"
)

// TestRunNATSNeedsURL: the NATS publisher says what it lacks.
func TestRunNATSNeedsURL(t *testing.T) {
	_, err := Run(context.Background(), Config{
		Scenario: ScenarioBroadcast, URLs: []string{"ws://127.0.0.1:1/ws"}, Conns: 1, PublishVia: PublishNATS,
	})
	if err == nil || !strings.Contains(err.Error(), "--nats-url") {
		t.Fatalf("err = %v", err)
	}
}
