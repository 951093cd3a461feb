package app

import (
	"context"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/command/limits"
	"github.com/orderflow/orderflow/command/ordering"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/query"
)

// CancelOrderHandler records a cancellation request; the saga compensates
// whatever was done and ends the order CANCELLED. A confirmed order cannot
// be cancelled (CONFLICT).
type CancelOrderHandler struct{ d *deps }

// Handle requests the cancellation and answers with the order as it is
// right after the request was recorded.
func (h CancelOrderHandler) Handle(ctx context.Context, actor auth.Principal, orderID, reason string) (query.Order, error) {
	if actor.Subject == "" {
		return query.Order{}, errcode.New(errcode.Unauthenticated, "authentication required")
	}
	// The input's bounds first (the domain checks them again when it
	// decides): junk costs no read of the order.
	if err := limits.RequiredText("orderId", orderID, limits.MaxIDLength); err != nil {
		return query.Order{}, err
	}
	if err := limits.Text("reason", reason, limits.MaxReasonLength); err != nil {
		return query.Order{}, err
	}
	o, err := h.d.h.Orders.Load(ctx, orderID)
	if err != nil {
		return query.Order{}, err
	}
	if o.Version() == 0 {
		return query.Order{}, errcode.New(errcode.NotFound, "order %s not found", orderID)
	}
	if err := requireCustomer(actor, o.CustomerID()); err != nil {
		return query.Order{}, errcode.New(errcode.NotFound, "order %s not found", orderID)
	}
	cmd := messages.CancelOrder{OrderID: orderID, Reason: reason, RequestedBy: actor.Subject}
	var cancelled query.Order
	err = h.d.execute(cmd, func() error {
		_, err := h.d.h.CancelOrder(ctx, handlers.Message{ID: uuid.NewString(), CorrelationID: orderID}, cmd, handlers.With[*ordering.Order]{
			View: func(o *ordering.Order) { cancelled = query.OrderFromAggregate(o) },
		})
		return err
	})
	if err != nil {
		return query.Order{}, err
	}
	return cancelled, nil
}
