package handlers

import (
	"context"
	"fmt"

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
//
// Every placement is the message whose id is the order id, and starts the
// order's saga in its transaction (with.InTx, the PlacementHook): so the
// saga knows an OrderPlaced caused by the order's own id from its
// envelope alone as one it started with, and skips it (sagas.Processor).
// A placement without either is refused as a programming error.
func (h *Handlers) PlaceOrder(ctx context.Context, msg Message, cmd messages.PlaceOrder, with With[*ordering.Order]) (Result, error) {
	if msg.ID != cmd.OrderID || with.InTx == nil {
		return Result{}, fmt.Errorf("place order %s: the placement must be message %s and start the saga in its transaction (got message %q, hook set: %t)",
			cmd.OrderID, cmd.OrderID, msg.ID, with.InTx != nil)
	}
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
