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

// AddFundsHandler credits a customer's balance (admin only).
type AddFundsHandler struct{ d *deps }

// Handle adds the funds and answers with the account.
func (h AddFundsHandler) Handle(ctx context.Context, actor auth.Principal, customerID string, amount money.Amount) (query.Customer, error) {
	if err := requireAdmin(actor); err != nil {
		return query.Customer{}, err
	}
	cmd := messages.AddFunds{CustomerID: customerID, Amount: amount}
	var credited query.Customer
	err := h.d.execute(cmd, func() error {
		_, err := h.d.h.AddFunds(ctx, handlers.Message{ID: uuid.NewString()}, cmd, handlers.With[*payments.Customer]{
			View: func(c *payments.Customer) { credited = CustomerView(c) },
		})
		return err
	})
	if err != nil {
		return query.Customer{}, err
	}
	return credited, nil
}
