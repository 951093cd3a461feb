package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/payments"
	"github.com/orderflow/orderflow/messages"
)

// RegisterCustomerHandler is also the consumer group name: never rename it.
const RegisterCustomerHandler = "payments.register-customer"

func (h *Handlers) registerCustomer(ctx context.Context, cmd *messages.RegisterCustomer) error {
	_, err := h.Customers.Execute(ctx, messageOf(ctx, RegisterCustomerHandler), cmd.CustomerID, func(a *payments.Customer) ([]messages.Event, error) {
		return a.Register(*cmd)
	})
	return h.settle(ctx, RegisterCustomerHandler, err)
}
