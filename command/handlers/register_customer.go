package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/domain/payments"
	"github.com/orderflow/orderflow/messages"
)

// RegisterCustomerHandler is also the inbox key of its messages: never rename it.
const RegisterCustomerHandler = "payments.register-customer"

// RegisterCustomer opens a customer account for a caller in this process
// that waits for the answer (see Executor.ExecuteForCaller).
func (h *Handlers) RegisterCustomer(ctx context.Context, msg Message, cmd messages.RegisterCustomer, with With[*payments.Customer]) (Result, error) {
	msg.Handler = RegisterCustomerHandler
	return h.Customers.ExecuteForCaller(ctx, msg, cmd.CustomerID, decideRegisterCustomer(&cmd), with)
}

func decideRegisterCustomer(cmd *messages.RegisterCustomer) func(*payments.Customer) ([]messages.Event, error) {
	return func(a *payments.Customer) ([]messages.Event, error) {
		return a.Register(*cmd)
	}
}
