package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/payments"
	"github.com/orderflow/orderflow/messages"
)

// CapturePaymentHandler is also the consumer group name: never rename it.
const CapturePaymentHandler = "payments.capture-payment"

func (h *Handlers) capturePayment(ctx context.Context, cmd *messages.CapturePayment) error {
	_, err := h.Customers.Execute(ctx, messageOf(ctx, CapturePaymentHandler), cmd.CustomerID, func(a *payments.Customer) ([]messages.Event, error) {
		return a.Capture(cmd.OrderID)
	})
	return h.settle(ctx, CapturePaymentHandler, err)
}
