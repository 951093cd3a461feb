package app

import (
	"context"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/command/domain/limits"
	"github.com/orderflow/orderflow/command/domain/ordering"
	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/query"
)

// cancellationNamespace derives the message ids of cancellation requests.
var cancellationNamespace = uuid.MustParse("b3c1f0a2-6d4e-4f1b-8a7c-2e9d5f3b1c60")

// CancellationID is the message id of a cancellation request: the same
// caller asking to cancel the same order for the same reason sends the same
// message, so a retry (after an answer that never came, or one that said
// the outcome is unknown) is recognised by the inbox and answers with the
// order as it stands, whatever happened to it since.
func CancellationID(orderID, requestedBy, reason string) string {
	return uuid.NewSHA1(cancellationNamespace, []byte(orderID+"\x00"+requestedBy+"\x00"+reason)).String()
}

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
	cancelled, err := executeForView(h.d, cmd, OrderView, func(with handlers.With[*ordering.Order]) (handlers.Result, error) {
		return h.d.h.CancelOrder(ctx, handlers.Message{ID: CancellationID(orderID, actor.Subject, reason), CorrelationID: orderID}, cmd, with)
	})
	if err != nil {
		return query.Order{}, err
	}
	return h.d.withContact(ctx, cancelled), nil
}
