package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/payments"
	"github.com/orderflow/orderflow/messages"
)

// RegisterCustomerHandler is also the consumer group name: never rename it.
const RegisterCustomerHandler = "payments.register-customer"

func (h *Handlers) registerCustomer(ctx context.Context, cmd *messages.RegisterCustomer) error {
	_, err := h.Customers.Execute(ctx, messageOf(ctx, RegisterCustomerHandler), cmd.CustomerID, decideRegisterCustomer(cmd))
	return h.settle(ctx, RegisterCustomerHandler, err)
}

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
