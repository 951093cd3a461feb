package handlers

import (
	"github.com/orderflow/orderflow/command/domain/inventory"
	"github.com/orderflow/orderflow/messages"
)

// ReserveStockHandler is also the inbox key of its messages: never rename it.
const ReserveStockHandler = "inventory.reserve-stock"

func decideReserveStock(cmd messages.ReserveStock) func(*inventory.Product) ([]messages.Event, error) {
	return func(a *inventory.Product) ([]messages.Event, error) {
		return a.Reserve(cmd.OrderID, cmd.Quantity)
	}
}
