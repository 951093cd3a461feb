package handlers

import (
	"github.com/orderflow/orderflow/command/domain/ordering"
	"github.com/orderflow/orderflow/messages"
)

// MarkOrderStepHandler is also the inbox key of its messages: never rename it.
const MarkOrderStepHandler = "ordering.mark-order-step"

func (h *Handlers) decideMarkOrderStep(cmd *messages.MarkOrderStep) func(*ordering.Order) ([]messages.Event, error) {
	return func(a *ordering.Order) ([]messages.Event, error) {
		return a.CompleteStep(cmd.Step, h.now())
	}
}
