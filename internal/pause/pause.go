// Package pause waits a while unless the work is called off: the one
// context-aware sleep of the relays, the consumer loop, the reconciler,
// the bench and the drills.
package pause

import (
	"context"
	"time"
)

// For waits d, or until ctx ends; it reports whether ctx is still live
// (false: stop what you were waiting to do).
func For(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
