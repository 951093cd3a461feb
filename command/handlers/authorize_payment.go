package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/payments"
	"github.com/orderflow/orderflow/messages"
)

// AuthorizePaymentHandler is also the consumer group name: never rename it.
const AuthorizePaymentHandler = "payments.authorize-payment"

func (h *Handlers) authorizePayment(ctx context.Context, cmd *messages.AuthorizePayment) error {
	_, err := h.Customers.Execute(ctx, messageOf(ctx, AuthorizePaymentHandler), cmd.CustomerID, func(a *payments.Customer) ([]messages.Event, error) {
		return a.Authorize(cmd.OrderID, cmd.Amount)
	})
	return h.settle(ctx, AuthorizePaymentHandler, err)
}
