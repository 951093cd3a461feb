package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/inventory"
	"github.com/orderflow/orderflow/messages"
)

// CommitStockHandler is also the consumer group name: never rename it.
const CommitStockHandler = "inventory.commit-stock"

func (h *Handlers) commitStock(ctx context.Context, cmd *messages.CommitStock) error {
	_, err := h.Products.Execute(ctx, messageOf(ctx, CommitStockHandler), cmd.ProductID, func(a *inventory.Product) ([]messages.Event, error) {
		return a.Commit(cmd.OrderID)
	})
	return h.settle(ctx, CommitStockHandler, err)
}
