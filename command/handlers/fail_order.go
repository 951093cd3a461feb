package handlers

import (
	"github.com/orderflow/orderflow/command/domain/ordering"
	"github.com/orderflow/orderflow/messages"
)

// FailOrderHandler is also the inbox key of its messages: never rename it.
const FailOrderHandler = "ordering.fail-order"

func (h *Handlers) decideFailOrder(cmd *messages.FailOrder) func(*ordering.Order) ([]messages.Event, error) {
	return func(a *ordering.Order) ([]messages.Event, error) {
		return a.Fail(cmd.Code, cmd.Message, h.now())
	}
}
