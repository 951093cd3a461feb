package reconcile

import (
	"context"
	"time"
)

// Tick is one periodic run, as RunPeriodically does at each tick.
func (r *Reconciler) Tick(ctx context.Context) error { return r.tick(ctx) }

// Rests records the rests of r's periodic runs instead of taking them.
func (r *Reconciler) Rests() *[]time.Duration {
	var rests []time.Duration
	r.rest = func(_ context.Context, d time.Duration) { rests = append(rests, d) }
	return &rests
}
