package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/ordering"
	"github.com/orderflow/orderflow/messages"
)

// ConfirmOrderHandler is also the consumer group name: never rename it.
const ConfirmOrderHandler = "ordering.confirm-order"

func (h *Handlers) confirmOrder(ctx context.Context, cmd *messages.ConfirmOrder) error {
	_, err := h.Orders.Execute(ctx, messageOf(ctx, ConfirmOrderHandler), cmd.OrderID, h.decideConfirmOrder(cmd))
	return h.settle(ctx, ConfirmOrderHandler, err)
}

func (h *Handlers) decideConfirmOrder(cmd *messages.ConfirmOrder) func(*ordering.Order) ([]messages.Event, error) {
	return func(a *ordering.Order) ([]messages.Event, error) {
		return a.Confirm(h.now())
	}
}
