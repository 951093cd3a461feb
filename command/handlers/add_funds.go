package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/payments"
	"github.com/orderflow/orderflow/messages"
)

// AddFundsHandler is also the consumer group name: never rename it.
const AddFundsHandler = "payments.add-funds"

func (h *Handlers) addFunds(ctx context.Context, cmd *messages.AddFunds) error {
	_, err := h.Customers.Execute(ctx, messageOf(ctx, AddFundsHandler), cmd.CustomerID, decideAddFunds(cmd))
	return h.settle(ctx, AddFundsHandler, err)
}

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
