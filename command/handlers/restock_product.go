package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/inventory"
	"github.com/orderflow/orderflow/messages"
)

// RestockProductHandler is also the consumer group name: never rename it.
const RestockProductHandler = "inventory.restock-product"

func (h *Handlers) restockProduct(ctx context.Context, cmd *messages.RestockProduct) error {
	_, err := h.Products.Execute(ctx, messageOf(ctx, RestockProductHandler), cmd.ProductID, func(a *inventory.Product) ([]messages.Event, error) {
		return a.Restock(cmd.Quantity)
	})
	return h.settle(ctx, RestockProductHandler, err)
}
