package handlers

import (
	"context"
	"fmt"

	"github.com/orderflow/orderflow/command/domain/payments"
	"github.com/orderflow/orderflow/messages"
)

// AuthorizePaymentHandler is also the inbox key of its messages: never rename it.
const AuthorizePaymentHandler = "payments.authorize-payment"

// authorizePayment asks the payment provider first, outside any database
// transaction and stream lock, then records its answer on the customer's
// account, which decides on fresh state: an approval the balance no longer
// covers is refused, with no hold. A redelivered message is found in the
// inbox before the provider is asked; an authorization asked again after a
// failure carries the same key (the order id), so the provider authorizes
// it once. The call is bounded by ProviderTimeout: a provider that does not
// answer fails the attempt (retried), and the saga's deadline eventually
// gives up on it.
func (h *Handlers) authorizePayment(ctx context.Context, msg Message, cmd messages.AuthorizePayment) error {
	msg.Handler = AuthorizePaymentHandler
	handled, err := h.Customers.Handled(ctx, msg)
	if err != nil || handled {
		return err
	}
	answer, err := h.askProvider(ctx, payments.Authorization{Key: cmd.OrderID, CustomerID: cmd.CustomerID, Amount: cmd.Amount})
	if err != nil {
		return fmt.Errorf("authorize payment of order %s: %w", cmd.OrderID, err)
	}
	_, err = h.Customers.Execute(ctx, msg, cmd.CustomerID, func(a *payments.Customer) ([]messages.Event, error) {
		if answer.Declined != "" {
			return a.Decline(cmd.OrderID, cmd.Amount, answer.Declined)
		}
		return a.Authorize(cmd.OrderID, cmd.Amount)
	})
	return h.settle(ctx, AuthorizePaymentHandler, err)
}

func (h *Handlers) askProvider(ctx context.Context, req payments.Authorization) (payments.Answer, error) {
	ctx, cancel := context.WithTimeout(ctx, h.ProviderTimeout)
	defer cancel()
	return h.Provider.Authorize(ctx, req)
}
