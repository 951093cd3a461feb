package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/ordering"
	"github.com/orderflow/orderflow/messages"
)

// PlaceOrderHandler is also the consumer group name: never rename it.
const PlaceOrderHandler = "ordering.place-order"

// placeOrder records a new order. The order id is derived from the customer
// and the idempotency key, so a retried placement finds the order it placed
// before and changes nothing.
func (h *Handlers) placeOrder(ctx context.Context, cmd *messages.PlaceOrder) error {
	_, err := h.Orders.Execute(ctx, messageOf(ctx, PlaceOrderHandler), cmd.OrderID, func(o *ordering.Order) ([]messages.Event, error) {
		if o.Version() > 0 && o.CustomerID() == cmd.CustomerID && o.IdempotencyKey() == cmd.IdempotencyKey {
			return nil, nil
		}
		return o.Place(*cmd, h.now())
	})
	return h.settle(ctx, PlaceOrderHandler, err)
}
