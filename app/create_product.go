package app

import (
	"context"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/command/domain/inventory"
	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/query"
)

// CreateProduct is a new catalog entry.
type CreateProduct struct {
	SKU          string
	Name         string
	Price        money.Amount
	InitialStock int
}

// CreateProductHandler adds a product (admin only).
type CreateProductHandler struct{ d *deps }

// Handle creates the product and answers with it.
func (h CreateProductHandler) Handle(ctx context.Context, actor auth.Principal, in CreateProduct) (query.Product, error) {
	if err := requireAdmin(actor); err != nil {
		return query.Product{}, err
	}
	cmd := messages.CreateProduct{ProductID: uuid.NewString(), SKU: in.SKU, Name: in.Name, Price: in.Price, InitialStock: in.InitialStock}
	return executeForView(h.d, cmd, ProductView, func(with handlers.With[*inventory.Product]) (handlers.Result, error) {
		return h.d.h.CreateProduct(ctx, handlers.Message{ID: uuid.NewString()}, cmd, with)
	})
}
