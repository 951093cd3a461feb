package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/inventory"
	"github.com/orderflow/orderflow/messages"
)

// ReleaseStockHandler is also the consumer group name: never rename it.
const ReleaseStockHandler = "inventory.release-stock"

func (h *Handlers) releaseStock(ctx context.Context, cmd *messages.ReleaseStock) error {
	_, err := h.Products.Execute(ctx, messageOf(ctx, ReleaseStockHandler), cmd.ProductID, func(a *inventory.Product) ([]messages.Event, error) {
		return a.Release(cmd.OrderID)
	})
	return h.settle(ctx, ReleaseStockHandler, err)
}
