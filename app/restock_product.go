package app

import (
	"context"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/command/domain/inventory"
	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/query"
)

// RestockProductHandler adds units to a product (admin only).
type RestockProductHandler struct{ d *deps }

// Handle restocks and answers with the product's new stock.
func (h RestockProductHandler) Handle(ctx context.Context, actor auth.Principal, productID string, quantity int) (query.Product, error) {
	if err := requireAdmin(actor); err != nil {
		return query.Product{}, err
	}
	cmd := messages.RestockProduct{ProductID: productID, Quantity: quantity}
	return executeForView(h.d, cmd, ProductView, func(with handlers.With[*inventory.Product]) (handlers.Result, error) {
		return h.d.h.RestockProduct(ctx, handlers.Message{ID: uuid.NewString()}, cmd, with)
	})
}
