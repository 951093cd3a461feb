package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/ordering"
	"github.com/orderflow/orderflow/messages"
)

// RecordOrderCompensationHandler is also the consumer group name: never rename it.
const RecordOrderCompensationHandler = "ordering.record-order-compensation"

func (h *Handlers) recordOrderCompensation(ctx context.Context, cmd *messages.RecordOrderCompensation) error {
	_, err := h.Orders.Execute(ctx, messageOf(ctx, RecordOrderCompensationHandler), cmd.OrderID, h.decideRecordOrderCompensation(cmd))
	return h.settle(ctx, RecordOrderCompensationHandler, err)
}

func (h *Handlers) decideRecordOrderCompensation(cmd *messages.RecordOrderCompensation) func(*ordering.Order) ([]messages.Event, error) {
	return func(a *ordering.Order) ([]messages.Event, error) {
		return a.RecordCompensation(cmd.Step, cmd.Action, cmd.Reason, h.now())
	}
}
