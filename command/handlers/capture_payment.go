package handlers

import (
	"github.com/orderflow/orderflow/command/domain/payments"
	"github.com/orderflow/orderflow/messages"
)

// CapturePaymentHandler is also the inbox key of its messages: never rename it.
const CapturePaymentHandler = "payments.capture-payment"

func decideCapturePayment(cmd messages.CapturePayment) func(*payments.Customer) ([]messages.Event, error) {
	return func(a *payments.Customer) ([]messages.Event, error) {
		return a.Capture(cmd.OrderID)
	}
}
