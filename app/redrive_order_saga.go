package app

import (
	"context"
	"errors"

	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/sagas"
)

// SagaRedriver is the order saga as the support operation sees it
// (sagas.Processor).
type SagaRedriver interface {
	Redrive(ctx context.Context, orderID string) (sagas.Redrive, error)
}

// SagaRedrive is what a re-drive did.
type SagaRedrive struct {
	OrderID string
	// Phase is the saga's phase when it was re-driven; Now its phase after.
	Phase, Now sagas.Phase
	// Outcome is set when the saga finished (DONE) with the re-drive.
	Outcome sagas.Outcome
	// Sent are the commands sent again, under new message ids.
	Sent []sagas.Command
}

// RedriveOrderSagaHandler re-drives an order's stuck or parked saga
// (sagas.State.Redrive): from now on the saga sends its commands under new
// message ids (the business keys, order, product and customer, stay the
// same), starting with what it waits on (an open saga: its pending step's
// commands, with a full set of attempts) or what is left to compensate or
// settle (a parked one: it resumes compensating or settling where it
// stood), and finishes the order's saga when the answers arrive. Every
// aggregate decides once per order, so a command that did land before
// changes nothing.
type RedriveOrderSagaHandler struct{ d *deps }

// Handle re-drives the saga of orderID (admin only).
func (h RedriveOrderSagaHandler) Handle(ctx context.Context, actor auth.Principal, orderID string) (SagaRedrive, error) {
	if err := requireAdmin(actor); err != nil {
		return SagaRedrive{}, err
	}
	if orderID == "" || len(orderID) > 64 {
		return SagaRedrive{}, invalid("orderId", "must be 1 to 64 characters")
	}
	r, ok := h.d.sagas.(SagaRedriver)
	if !ok {
		return SagaRedrive{}, errcode.New(errcode.Internal, "this process cannot re-drive sagas")
	}
	res, err := r.Redrive(ctx, orderID)
	switch {
	case errors.Is(err, sagas.ErrNoSaga):
		return SagaRedrive{}, errcode.New(errcode.NotFound, "order %s has no saga", orderID)
	case errors.Is(err, sagas.ErrNothingToRedrive):
		return SagaRedrive{}, errcode.New(errcode.Conflict, "the saga of order %s is done: nothing to re-drive", orderID)
	case err != nil && res.Now == "":
		return SagaRedrive{}, err
	}
	out := SagaRedrive{OrderID: orderID, Phase: res.Phase, Now: res.Now, Outcome: res.Outcome, Sent: res.Sent}
	h.d.logger.InfoContext(ctx, "order saga re-driven", "order_id", orderID, "from", res.Phase, "to", res.Now,
		"commands", len(res.Sent), "actor", actor.Subject)
	// Saved, but a command not sent: its deadline sends it again.
	return out, err
}
