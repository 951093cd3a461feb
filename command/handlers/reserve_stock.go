package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/inventory"
	"github.com/orderflow/orderflow/messages"
)

// ReserveStockHandler is also the consumer group name: never rename it.
const ReserveStockHandler = "inventory.reserve-stock"

func (h *Handlers) reserveStock(ctx context.Context, cmd *messages.ReserveStock) error {
	_, err := h.Products.Execute(ctx, messageOf(ctx, ReserveStockHandler), cmd.ProductID, func(a *inventory.Product) ([]messages.Event, error) {
		return a.Reserve(cmd.OrderID, cmd.Quantity)
	})
	return h.settle(ctx, ReserveStockHandler, err)
}
