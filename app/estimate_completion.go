package app

import (
	"time"

	"github.com/orderflow/orderflow/query"
)

// EstimateCompletionHandler tells a client when an order should be final,
// from the end-to-end times this process measured recently
// (CompletionTimes), so a shop can say "expect confirmation by …" and
// knows when polling is worth it.
type EstimateCompletionHandler struct{ d *deps }

// Handle estimates when o will be final: for a final order, when it
// became final (its last update); otherwise its placement plus the 90th
// percentile of the recent end-to-end times, or, for an order already
// past that, now plus their median. While fewer than
// MinCompletionSamples orders finished in the window, both are
// DefaultCompletionEstimate. The caller authorized the read of o.
func (h EstimateCompletionHandler) Handle(o query.Order) time.Time {
	if o.Status.Terminal() {
		return o.UpdatedAt.UTC()
	}
	stats := h.d.completions.Stats()
	now := time.Now()
	if h.d.completions != nil {
		now = h.d.completions.now()
	}
	estimate := o.CreatedAt.Add(stats.P90)
	if late := now.Add(stats.Median); late.After(estimate) {
		estimate = late
	}
	return estimate.UTC()
}
