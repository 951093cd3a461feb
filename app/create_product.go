package app

import (
	"context"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/command/bus"
	"github.com/orderflow/orderflow/command/inventory"
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
	if _, err := (&inventory.Product{}).Create(cmd); err != nil {
		return query.Product{}, err
	}
	if err := h.d.sendAndWait(ctx, h.d.h.Products.Store(), cmd, bus.Envelope{}); err != nil {
		return query.Product{}, err
	}
	p, err := h.d.h.Products.Load(ctx, cmd.ProductID)
	return query.ProductFromAggregate(p), err
}
