package handlers

import (
	"github.com/orderflow/orderflow/command/domain/ordering"
	"github.com/orderflow/orderflow/messages"
)

// CompleteOrderCancellationHandler is also the inbox key of its messages: never rename it.
const CompleteOrderCancellationHandler = "ordering.complete-order-cancellation"

func (h *Handlers) decideCompleteOrderCancellation(cmd *messages.CompleteOrderCancellation) func(*ordering.Order) ([]messages.Event, error) {
	return func(a *ordering.Order) ([]messages.Event, error) {
		return a.Cancel(cmd.Code, cmd.Message, h.now())
	}
}
