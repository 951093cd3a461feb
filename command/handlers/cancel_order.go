package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/domain/ordering"
	"github.com/orderflow/orderflow/messages"
)

// CancelOrderHandler is also the inbox key of its messages: never rename it.
const CancelOrderHandler = "ordering.cancel-order"

// CancelOrder records a cancellation request for a caller in this process
// that waits for the answer (see Executor.ExecuteForCaller).
func (h *Handlers) CancelOrder(ctx context.Context, msg Message, cmd messages.CancelOrder, with With[*ordering.Order]) (Result, error) {
	msg.Handler = CancelOrderHandler
	return h.Orders.ExecuteForCaller(ctx, msg, cmd.OrderID, h.decideCancelOrder(&cmd), with)
}

func (h *Handlers) decideCancelOrder(cmd *messages.CancelOrder) func(*ordering.Order) ([]messages.Event, error) {
	return func(a *ordering.Order) ([]messages.Event, error) {
		return a.RequestCancellation(cmd.Reason, cmd.RequestedBy, h.now())
	}
}
