package handlers

import (
	"github.com/orderflow/orderflow/command/domain/ordering"
	"github.com/orderflow/orderflow/messages"
)

// RecordOrderCompensationHandler is also the inbox key of its messages: never rename it.
const RecordOrderCompensationHandler = "ordering.record-order-compensation"

func (h *Handlers) decideRecordOrderCompensation(cmd *messages.RecordOrderCompensation) func(*ordering.Order) ([]messages.Event, error) {
	return func(a *ordering.Order) ([]messages.Event, error) {
		return a.RecordCompensation(cmd.Step, cmd.Action, cmd.Reason, h.now())
	}
}
