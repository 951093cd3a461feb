package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/payments"
	"github.com/orderflow/orderflow/messages"
)

// VoidPaymentHandler is also the consumer group name: never rename it.
const VoidPaymentHandler = "payments.void-payment"

func (h *Handlers) voidPayment(ctx context.Context, cmd *messages.VoidPayment) error {
	_, err := h.Customers.Execute(ctx, messageOf(ctx, VoidPaymentHandler), cmd.CustomerID, func(a *payments.Customer) ([]messages.Event, error) {
		return a.Void(cmd.OrderID)
	})
	return h.settle(ctx, VoidPaymentHandler, err)
}
