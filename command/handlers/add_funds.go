package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/domain/payments"
	"github.com/orderflow/orderflow/messages"
)

// AddFundsHandler is also the inbox key of its messages: never rename it.
const AddFundsHandler = "payments.add-funds"

// AddFunds credits a customer account for a caller in this process that
// waits for the answer (see Executor.ExecuteForCaller).
func (h *Handlers) AddFunds(ctx context.Context, msg Message, cmd messages.AddFunds, with With[*payments.Customer]) (Result, error) {
	msg.Handler = AddFundsHandler
	return h.Customers.ExecuteForCaller(ctx, msg, cmd.CustomerID, decideAddFunds(&cmd), with)
}

func decideAddFunds(cmd *messages.AddFunds) func(*payments.Customer) ([]messages.Event, error) {
	return func(a *payments.Customer) ([]messages.Event, error) {
		return a.AddFunds(cmd.Amount)
	}
}
