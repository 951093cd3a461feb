package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/domain/inventory"
	"github.com/orderflow/orderflow/messages"
)

// CreateProductHandler is also the inbox key of its messages: never rename it.
const CreateProductHandler = "inventory.create-product"

// CreateProduct creates a product for a caller in this process that waits
// for the answer (see Executor.ExecuteForCaller).
func (h *Handlers) CreateProduct(ctx context.Context, msg Message, cmd messages.CreateProduct, with With[*inventory.Product]) (Result, error) {
	msg.Handler = CreateProductHandler
	return h.Products.ExecuteForCaller(ctx, msg, cmd.ProductID, decideCreateProduct(&cmd), with)
}

func decideCreateProduct(cmd *messages.CreateProduct) func(*inventory.Product) ([]messages.Event, error) {
	return func(a *inventory.Product) ([]messages.Event, error) {
		return a.Create(*cmd)
	}
}
