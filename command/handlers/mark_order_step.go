package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/ordering"
	"github.com/orderflow/orderflow/messages"
)

// MarkOrderStepHandler is also the consumer group name: never rename it.
const MarkOrderStepHandler = "ordering.mark-order-step"

func (h *Handlers) markOrderStep(ctx context.Context, cmd *messages.MarkOrderStep) error {
	_, err := h.Orders.Execute(ctx, messageOf(ctx, MarkOrderStepHandler), cmd.OrderID, h.decideMarkOrderStep(cmd))
	return h.settle(ctx, MarkOrderStepHandler, err)
}

func (h *Handlers) decideMarkOrderStep(cmd *messages.MarkOrderStep) func(*ordering.Order) ([]messages.Event, error) {
	return func(a *ordering.Order) ([]messages.Event, error) {
		return a.CompleteStep(cmd.Step, h.now())
	}
}
