package app

import (
	"context"

	"github.com/orderflow/orderflow/command/bus"
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
	if err := h.d.sendAndWait(ctx, h.d.h.Customers.Store(), cmd, bus.Envelope{}); err != nil {
		return query.Customer{}, err
	}
	c, err := h.d.h.Customers.Load(ctx, customerID)
	return query.CustomerFromAggregate(c), err
}
