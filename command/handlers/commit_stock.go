package handlers

import (
	"github.com/orderflow/orderflow/command/domain/inventory"
	"github.com/orderflow/orderflow/messages"
)

// CommitStockHandler is also the inbox key of its messages: never rename it.
const CommitStockHandler = "inventory.commit-stock"

func decideCommitStock(cmd messages.CommitStock) func(*inventory.Product) ([]messages.Event, error) {
	return func(a *inventory.Product) ([]messages.Event, error) {
		return a.Commit(cmd.OrderID)
	}
}
