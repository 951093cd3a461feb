package app

import (
	"context"
	"errors"
	"time"

	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/query"
)

// OrderChangeWatcher delivers the change feed of an order
// (query.OrderChanges).
type OrderChangeWatcher interface {
	Watch(orderID string) (<-chan query.OrderChange, func())
}

// A subscriber reads its order's stream itself only in case the change
// feed missed a change (a full buffer, a feed that stopped): first
// recheckFirst after it starts, then at twice the wait each time, up to
// recheckMax, which bounds how long a missed change can delay it. The
// wait grows instead of ticking at recheckFirst because every open
// subscription re-reads: while a backlog keeps orders open for a minute,
// thousands of subscriptions re-reading every 2 s made about 42 stream
// reads per order at 220 orders/s (7 without a backlog) and took the
// PostgreSQL CPU the backlog needed to drain (docs/benchmarks.md,
// "2026-12-01, late evening").
const (
	recheckFirst = 2 * time.Second
	recheckMax   = time.Minute
)

// nextRecheck is the wait after a re-check that waited wait.
func nextRecheck(wait time.Duration) time.Duration { return min(2*wait, recheckMax) }

// OrderStatusChangedHandler streams an order's state: the current state
// first, then the state after every later event, in order, ending after the
// final state. States are folded from the order's own events: the feed's
// event when it is the next version, the event store's otherwise, so no
// change is skipped or merged, whatever the read model's lag.
type OrderStatusChangedHandler struct{ d *deps }

// Handle authorizes the subscription and starts it; the channel closes
// after a final state or when ctx ends.
func (h OrderStatusChangedHandler) Handle(ctx context.Context, actor auth.Principal, orderID string) (<-chan query.Order, error) {
	if actor.Subject == "" {
		return nil, errcode.New(errcode.Unauthenticated, "authentication required")
	}
	if h.d.changes == nil {
		return nil, errcode.New(errcode.Internal, "live order changes are not served by this process")
	}
	// Watch before loading: a change between the two is signalled, never
	// lost.
	changed, stop := h.d.changes.Watch(orderID)
	order, err := h.d.h.Orders.Load(ctx, orderID)
	if err != nil {
		stop()
		return nil, err
	}
	if order.Version() == 0 || requireCustomer(actor, order.CustomerID()) != nil {
		stop()
		return nil, errcode.New(errcode.NotFound, "order %s not found", orderID)
	}
	out := make(chan query.Order, 16)
	go func() {
		defer close(out)
		defer stop()
		send := func(o query.Order) bool {
			select {
			case out <- o:
				return true
			case <-ctx.Done():
				return false
			}
		}
		if !send(h.d.withContact(ctx, OrderView(order))) || order.Status().Terminal() {
			return
		}
		wait := recheckFirst
		recheck := time.NewTimer(wait)
		defer recheck.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case c := <-changed:
				if c.Version <= order.Version() {
					continue // seen already
				}
				if c.Event != nil && c.Version == order.Version()+1 {
					order.Apply(c.Event)
					if !send(h.d.withContact(ctx, OrderView(order))) || order.Status().Terminal() {
						return
					}
					continue
				}
			case <-recheck.C:
				wait = nextRecheck(wait)
				recheck.Reset(wait)
			}
			events, err := h.d.h.Orders.EventsAfter(ctx, orderID, order.Version())
			for _, e := range events {
				order.Apply(e)
				if !send(h.d.withContact(ctx, OrderView(order))) || order.Status().Terminal() {
					return
				}
			}
			switch {
			case errors.Is(err, handlers.ErrUndecodable):
				h.d.logger.ErrorContext(ctx, "order subscription could not decode an event", "order_id", orderID, "error", err)
				return
			case err != nil:
				h.d.logger.WarnContext(ctx, "order subscription could not read the stream", "order_id", orderID, "error", err)
			}
		}
	}()
	return out, nil
}
