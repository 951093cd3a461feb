package handlers

import (
	"github.com/orderflow/orderflow/command/domain/payments"
	"github.com/orderflow/orderflow/messages"
)

// VoidPaymentHandler is also the inbox key of its messages: never rename it.
const VoidPaymentHandler = "payments.void-payment"

func decideVoidPayment(cmd messages.VoidPayment) func(*payments.Customer) ([]messages.Event, error) {
	return func(a *payments.Customer) ([]messages.Event, error) {
		return a.Void(cmd.OrderID)
	}
}
