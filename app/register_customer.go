package app

import (
	"context"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/command/domain/payments"
	"github.com/orderflow/orderflow/command/handlers"
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
	return executeForView(h.d, cmd, CustomerView, func(with handlers.With[*payments.Customer]) (handlers.Result, error) {
		return h.d.h.RegisterCustomer(ctx, handlers.Message{ID: uuid.NewString()}, cmd, with)
	})
}
