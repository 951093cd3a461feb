package handlers

import (
	"github.com/orderflow/orderflow/command/domain/ordering"
	"github.com/orderflow/orderflow/messages"
)

// ConfirmOrderHandler is also the inbox key of its messages: never rename it.
const ConfirmOrderHandler = "ordering.confirm-order"

func (h *Handlers) decideConfirmOrder(cmd *messages.ConfirmOrder) func(*ordering.Order) ([]messages.Event, error) {
	return func(a *ordering.Order) ([]messages.Event, error) {
		return a.Confirm(h.now())
	}
}
