package handlers

import (
	"github.com/orderflow/orderflow/command/domain/inventory"
	"github.com/orderflow/orderflow/messages"
)

// ReleaseStockHandler is also the inbox key of its messages: never rename it.
const ReleaseStockHandler = "inventory.release-stock"

func decideReleaseStock(cmd messages.ReleaseStock) func(*inventory.Product) ([]messages.Event, error) {
	return func(a *inventory.Product) ([]messages.Event, error) {
		return a.Release(cmd.OrderID)
	}
}
