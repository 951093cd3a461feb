package app

import (
	"context"
	"time"

	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/query"
)

// MaxFinalWait bounds a synchronous checkout's wait (placeOrder's
// waitForFinal, REST ?wait=).
const MaxFinalWait = 30 * time.Second

// ParseFinalWait reads a checkout's wait ("5s", "1500ms"): empty is no
// wait; anything else must be a duration above 0 and at most MaxFinalWait.
func ParseFinalWait(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > MaxFinalWait {
		return 0, errcode.New(errcode.InvalidOrderData, "%s %q: want a duration above 0 and at most %s, e.g. \"5s\"", field, s, MaxFinalWait).With("field", field)
	}
	return d, nil
}

// AwaitFinalOrderHandler is the synchronous checkout: it waits, up to a
// bound, until an order is final (CONFIRMED, CANCELLED or FAILED). It
// reads the order's event stream, the source of truth, so it works on any
// api replica whichever worker finishes the saga, and after a retry of the
// placement on another replica (the same key names the same order).
type AwaitFinalOrderHandler struct{ d *deps }

// awaitPoll is the first interval between two reads of the order; it
// doubles up to awaitMaxPoll.
const (
	awaitPoll    = 20 * time.Millisecond
	awaitMaxPoll = 250 * time.Millisecond
)

// Handle returns the order once final (final true), or as it stands when
// wait ends (final false: the saga is still running).
func (h AwaitFinalOrderHandler) Handle(ctx context.Context, actor auth.Principal, orderID string, wait time.Duration) (query.Order, bool, error) {
	deadline := time.Now().Add(wait)
	poll := awaitPoll
	for {
		agg, err := h.d.h.Orders.Load(ctx, orderID)
		if err != nil {
			return query.Order{}, false, err
		}
		if agg.Version() == 0 {
			return query.Order{}, false, errcode.New(errcode.NotFound, "order %s not found", orderID)
		}
		if err := requireCustomer(actor, agg.CustomerID()); err != nil {
			return query.Order{}, false, errcode.New(errcode.NotFound, "order %s not found", orderID)
		}
		o := h.d.withContact(ctx, OrderView(agg))
		if o.Status.Terminal() || !time.Now().Before(deadline) {
			return o, o.Status.Terminal(), nil
		}
		t := time.NewTimer(min(poll, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return o, false, nil
		case <-t.C:
		}
		poll = min(2*poll, awaitMaxPoll)
	}
}
