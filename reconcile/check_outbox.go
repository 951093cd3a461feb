package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/orderflow/orderflow/command/handlers"
)

// checkOutboxes reports, per context, the events older than the grace
// period that its relay has not published: nothing downstream (the saga,
// the projections) has seen them.
func (r *Reconciler) checkOutboxes(ctx context.Context, ru *runState) error {
	for _, o := range r.backlogs {
		total, oldest, err := o.unpublished(ctx, ru.cutoff, r.cfg.MaxFindings)
		if err != nil {
			return err
		}
		for _, e := range oldest {
			f := Finding{
				Kind: OutboxUnpublished, Context: o.schema, EventID: e.eventID,
				Expected: "published to Kafka",
				Found: fmt.Sprintf("%s version %d, appended %s ago, not published", e.eventType, e.version,
					ru.report.StartedAt.Sub(e.at).Round(time.Second)),
				Resolution: NeedsPerson,
				Action: fmt.Sprintf("is a %s relay running (orderflow_relay_active)? is the stream blocked (%s.relay_blocked_streams)? is a long transaction holding it back (orderflow_relay_lag_seconds)?",
					o.schema, o.schema),
			}
			switch e.streamType {
			case handlers.OrderStream:
				f.OrderID = e.streamID
			case handlers.ProductStream:
				f.ProductID = e.streamID
			case handlers.CustomerStream:
				f.CustomerID = e.streamID
			}
			r.record(ru, f)
		}
		ru.uncounted(OutboxUnpublished, total-len(oldest))
	}
	return nil
}
