package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/inventory"
	"github.com/orderflow/orderflow/messages"
)

// CreateProductHandler is also the consumer group name: never rename it.
const CreateProductHandler = "inventory.create-product"

func (h *Handlers) createProduct(ctx context.Context, cmd *messages.CreateProduct) error {
	_, err := h.Products.Execute(ctx, messageOf(ctx, CreateProductHandler), cmd.ProductID, func(a *inventory.Product) ([]messages.Event, error) {
		return a.Create(*cmd)
	})
	return h.settle(ctx, CreateProductHandler, err)
}
