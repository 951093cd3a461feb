package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/ordering"
	"github.com/orderflow/orderflow/messages"
)

// CompleteOrderCancellationHandler is also the consumer group name: never rename it.
const CompleteOrderCancellationHandler = "ordering.complete-order-cancellation"

func (h *Handlers) completeOrderCancellation(ctx context.Context, cmd *messages.CompleteOrderCancellation) error {
	_, err := h.Orders.Execute(ctx, messageOf(ctx, CompleteOrderCancellationHandler), cmd.OrderID, h.decideCompleteOrderCancellation(cmd))
	return h.settle(ctx, CompleteOrderCancellationHandler, err)
}

func (h *Handlers) decideCompleteOrderCancellation(cmd *messages.CompleteOrderCancellation) func(*ordering.Order) ([]messages.Event, error) {
	return func(a *ordering.Order) ([]messages.Event, error) {
		return a.Cancel(cmd.Code, cmd.Message, h.now())
	}
}
