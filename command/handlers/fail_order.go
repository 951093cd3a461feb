package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/ordering"
	"github.com/orderflow/orderflow/messages"
)

// FailOrderHandler is also the consumer group name: never rename it.
const FailOrderHandler = "ordering.fail-order"

func (h *Handlers) failOrder(ctx context.Context, cmd *messages.FailOrder) error {
	_, err := h.Orders.Execute(ctx, messageOf(ctx, FailOrderHandler), cmd.OrderID, func(a *ordering.Order) ([]messages.Event, error) {
		return a.Fail(cmd.Code, cmd.Message, h.now())
	})
	return h.settle(ctx, FailOrderHandler, err)
}
