package handlers

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/command/domain/ordering"
	"github.com/orderflow/orderflow/messages"
)

// ExecuteOrderCommandInTx executes a command on an order inside the
// caller's transaction, with the same handler name (inbox key), decision
// and envelope as the command's bus handler: the order saga, which keeps
// its state in the ordering database, commits the steps it records on the
// order together with its own state instead of sending them through Kafka
// and waiting for the answer. A message id handled before by either path
// changes nothing. ok is false for a command of another context, which
// only the bus carries.
func (h *Handlers) ExecuteOrderCommandInTx(ctx context.Context, tx pgx.Tx, id, correlationID string, cmd messages.Command) (res Result, ok bool, err error) {
	handler, orderID, decide := h.orderDecision(cmd)
	if decide == nil {
		return Result{}, false, nil
	}
	res, err = h.Orders.ExecuteInTx(ctx, tx, Message{Handler: handler, ID: id, CorrelationID: correlationID}, orderID, decide)
	return res, true, err
}

func (h *Handlers) orderDecision(cmd messages.Command) (handler, orderID string, decide func(*ordering.Order) ([]messages.Event, error)) {
	switch c := cmd.(type) {
	case messages.MarkOrderStep:
		return MarkOrderStepHandler, c.OrderID, h.decideMarkOrderStep(&c)
	case messages.ConfirmOrder:
		return ConfirmOrderHandler, c.OrderID, h.decideConfirmOrder(&c)
	case messages.CancelOrder:
		return CancelOrderHandler, c.OrderID, h.decideCancelOrder(&c)
	case messages.RecordOrderCompensation:
		return RecordOrderCompensationHandler, c.OrderID, h.decideRecordOrderCompensation(&c)
	case messages.CompleteOrderCancellation:
		return CompleteOrderCancellationHandler, c.OrderID, h.decideCompleteOrderCancellation(&c)
	case messages.FailOrder:
		return FailOrderHandler, c.OrderID, h.decideFailOrder(&c)
	}
	return "", "", nil
}

// QueueOrderReadsInTx queues into b the reads of the orders' streams that
// ExecuteOrderCommandInTx will run commands on in tx (see
// Executor.QueueReadsInTx): the saga, handling several orders in one
// transaction, reads them all before its first write. Call apply once b
// ran without error.
func (h *Handlers) QueueOrderReadsInTx(tx *Tx, b *pgx.Batch, orderIDs []string) (apply func() error) {
	return h.Orders.QueueReadsInTx(tx, b, orderIDs)
}
