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

// AddFundsHandler credits a customer's balance (admin only).
type AddFundsHandler struct{ d *deps }

// Handle adds the funds and answers with the account.
func (h AddFundsHandler) Handle(ctx context.Context, actor auth.Principal, customerID string, amount money.Amount) (query.Customer, error) {
	if err := requireAdmin(actor); err != nil {
		return query.Customer{}, err
	}
	cmd := messages.AddFunds{CustomerID: customerID, Amount: amount}
	return executeForView(h.d, cmd, CustomerView, func(with handlers.With[*payments.Customer]) (handlers.Result, error) {
		return h.d.h.AddFunds(ctx, handlers.Message{ID: uuid.NewString()}, cmd, with)
	})
}
