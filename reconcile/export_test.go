package reconcile

import "context"

// Tick is one periodic run, as RunPeriodically does at each tick.
func (r *Reconciler) Tick(ctx context.Context) error { return r.tick(ctx) }
