package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/payments"
	"github.com/orderflow/orderflow/messages"
)

// AuthorizePaymentHandler is also the inbox key of its messages: never rename it.
const AuthorizePaymentHandler = "payments.authorize-payment"

// authorizePayment asks the payment provider, bounded by ProviderTimeout: a
// provider that does not answer fails the attempt (retried), and the saga's
// deadline eventually gives up on it.
func (h *Handlers) authorizePayment(ctx context.Context, msg Message, cmd messages.AuthorizePayment) error {
	ctx, cancel := context.WithTimeout(ctx, h.ProviderTimeout)
	defer cancel()
	msg.Handler = AuthorizePaymentHandler
	_, err := h.Customers.Execute(ctx, msg, cmd.CustomerID, func(a *payments.Customer) ([]messages.Event, error) {
		return h.Provider.Authorize(ctx, a, cmd.OrderID, cmd.Amount)
	})
	return h.settle(ctx, AuthorizePaymentHandler, err)
}
