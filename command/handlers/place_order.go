package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/domain/ordering"
	"github.com/orderflow/orderflow/messages"
)

// PlaceOrderHandler is also the inbox key of its messages: never rename it.
const PlaceOrderHandler = "ordering.place-order"

// PlaceOrder records a new order for a caller in this process that waits
// for the answer (the API; see Executor.ExecuteForCaller). The order id is
// derived from the customer and the idempotency key, so a retried
// placement finds the order it placed before and changes nothing.
// msg.Handler is set here.
func (h *Handlers) PlaceOrder(ctx context.Context, msg Message, cmd messages.PlaceOrder, with With[*ordering.Order]) (Result, error) {
	msg.Handler = PlaceOrderHandler
	return h.Orders.ExecuteForCaller(ctx, msg, cmd.OrderID, h.decidePlaceOrder(&cmd), with)
}

func (h *Handlers) decidePlaceOrder(cmd *messages.PlaceOrder) func(*ordering.Order) ([]messages.Event, error) {
	return func(o *ordering.Order) ([]messages.Event, error) {
		if o.Version() > 0 && o.CustomerID() == cmd.CustomerID && o.IdempotencyKey() == cmd.IdempotencyKey {
			return nil, nil
		}
		return o.Place(*cmd, h.now())
	}
}
