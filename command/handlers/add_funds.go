package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/payments"
	"github.com/orderflow/orderflow/messages"
)

// AddFundsHandler is also the consumer group name: never rename it.
const AddFundsHandler = "payments.add-funds"

func (h *Handlers) addFunds(ctx context.Context, cmd *messages.AddFunds) error {
	_, err := h.Customers.Execute(ctx, messageOf(ctx, AddFundsHandler), cmd.CustomerID, func(a *payments.Customer) ([]messages.Event, error) {
		return a.AddFunds(cmd.Amount)
	})
	return h.settle(ctx, AddFundsHandler, err)
}
