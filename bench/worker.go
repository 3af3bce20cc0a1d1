package bench

import (
	"context"
	"errors"
)

// startWorker starts a worker process for plan.
func startWorker(ctx context.Context, cfg Config, plan Plan) (shardHandle, error) {
	return nil, errors.New("bench: worker processes are not implemented yet")
}
