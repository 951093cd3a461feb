package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/ordering"
	"github.com/orderflow/orderflow/messages"
)

// FailOrderHandler is also the consumer group name: never rename it.
const FailOrderHandler = "ordering.fail-order"

func (h *Handlers) failOrder(ctx context.Context, cmd *messages.FailOrder) error {
	_, err := h.Orders.Execute(ctx, messageOf(ctx, FailOrderHandler), cmd.OrderID, h.decideFailOrder(cmd))
	return h.settle(ctx, FailOrderHandler, err)
}

func (h *Handlers) decideFailOrder(cmd *messages.FailOrder) func(*ordering.Order) ([]messages.Event, error) {
	return func(a *ordering.Order) ([]messages.Event, error) {
		return a.Fail(cmd.Code, cmd.Message, h.now())
	}
}
