package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/domain/inventory"
	"github.com/orderflow/orderflow/messages"
)

// RestockProductHandler is also the inbox key of its messages: never rename it.
const RestockProductHandler = "inventory.restock-product"

// RestockProduct adds stock to a product for a caller in this process that
// waits for the answer (see Executor.ExecuteForCaller).
func (h *Handlers) RestockProduct(ctx context.Context, msg Message, cmd messages.RestockProduct, with With[*inventory.Product]) (Result, error) {
	msg.Handler = RestockProductHandler
	return h.Products.ExecuteForCaller(ctx, msg, cmd.ProductID, decideRestockProduct(&cmd), with)
}

func decideRestockProduct(cmd *messages.RestockProduct) func(*inventory.Product) ([]messages.Event, error) {
	return func(a *inventory.Product) ([]messages.Event, error) {
		return a.Restock(cmd.Quantity)
	}
}
