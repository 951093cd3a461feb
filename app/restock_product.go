package app

import (
	"context"

	"github.com/orderflow/orderflow/command/bus"
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
	if err := h.d.sendAndWait(ctx, h.d.h.Products.Store(), cmd, bus.Envelope{}); err != nil {
		return query.Product{}, err
	}
	p, err := h.d.h.Products.Load(ctx, productID)
	return query.ProductFromAggregate(p), err
}
