package app

import (
	"context"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/command/payments"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/query"
)

// RegisterCustomer opens a payments account.
type RegisterCustomer struct {
	Email         string
	Name          string
	InitialCredit money.Amount
}

// RegisterCustomerHandler registers a customer (admin only).
type RegisterCustomerHandler struct{ d *deps }

// Handle registers the customer and answers with the account.
func (h RegisterCustomerHandler) Handle(ctx context.Context, actor auth.Principal, in RegisterCustomer) (query.Customer, error) {
	if err := requireAdmin(actor); err != nil {
		return query.Customer{}, err
	}
	cmd := messages.RegisterCustomer{CustomerID: uuid.NewString(), Email: in.Email, Name: in.Name, InitialCredit: in.InitialCredit}
	var registered query.Customer
	err := h.d.execute(cmd, func() error {
		_, err := h.d.h.RegisterCustomer(ctx, handlers.Message{ID: uuid.NewString()}, cmd, handlers.With[*payments.Customer]{
			View: func(c *payments.Customer) { registered = CustomerView(c) },
		})
		return err
	})
	if err != nil {
		return query.Customer{}, err
	}
	return registered, nil
}
