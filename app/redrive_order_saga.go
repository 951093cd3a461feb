package app

import (
	"context"
	"errors"
	"slices"

	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/sagas"
)

// SagaRedriver is the order saga as the support operation sees it
// (sagas.Processor).
type SagaRedriver interface {
	Get(ctx context.Context, orderID string) (*sagas.State, error)
	Resend(ctx context.Context, orderID string, missing ...messages.Command) ([]sagas.Command, error)
}

// SagaRedrive is what a re-drive did.
type SagaRedrive struct {
	OrderID string
	// Phase is the saga's phase when it was re-driven.
	Phase sagas.Phase
	// Sent are the commands sent again, under new message ids.
	Sent []sagas.Command
}

// RedriveOrderSagaHandler re-drives an order's stuck or parked saga: it
// sends again, under new message ids (the business key, the order, stays
// the same), what the saga waits on (an open saga: its pending step's
// commands, its deadline re-armed), or what is left to settle or
// compensate (a parked one: CommitStock and CapturePayment of a confirmed
// order, ReleaseStock and VoidPayment of one the saga gave up). Every
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
	st, err := r.Get(ctx, orderID)
	if err != nil {
		return SagaRedrive{}, err
	}
	if st == nil {
		return SagaRedrive{}, errcode.New(errcode.NotFound, "order %s has no saga", orderID)
	}
	if st.Phase == sagas.PhaseDone {
		return SagaRedrive{}, errcode.New(errcode.Conflict, "the saga of order %s is done: nothing to re-drive", orderID)
	}
	sent, err := r.Resend(ctx, orderID, unfinished(st)...)
	if errors.Is(err, sagas.ErrResendRefused) {
		return SagaRedrive{}, errcode.New(errcode.Conflict, "re-drive order %s: %w", orderID, err)
	}
	if err != nil {
		return SagaRedrive{}, err
	}
	h.d.logger.InfoContext(ctx, "order saga re-driven", "order_id", orderID, "phase", st.Phase, "commands", len(sent), "actor", actor.Subject)
	return SagaRedrive{OrderID: orderID, Phase: st.Phase, Sent: sent}, nil
}

// unfinished are the settlement or compensation commands a parked saga
// still needs; an open saga's pending commands are Resend's own.
func unfinished(st *sagas.State) []messages.Command {
	if st.Phase != sagas.PhaseParked {
		return nil
	}
	var cmds []messages.Command
	if slices.Contains(st.Completed, messages.StepOrderConfirmed) {
		for _, l := range st.Lines {
			if l.State != sagas.PartSettled {
				cmds = append(cmds, messages.CommitStock{ProductID: l.ProductID, OrderID: st.OrderID})
			}
		}
		if st.Payment != sagas.PartSettled {
			cmds = append(cmds, messages.CapturePayment{CustomerID: st.CustomerID, OrderID: st.OrderID})
		}
		return cmds
	}
	if st.Failure == nil {
		return nil
	}
	if st.Payment == sagas.PartDone || st.Payment == sagas.PartPending {
		cmds = append(cmds, messages.VoidPayment{CustomerID: st.CustomerID, OrderID: st.OrderID})
	}
	for _, l := range st.Lines {
		if l.State == sagas.PartDone || l.State == sagas.PartPending {
			cmds = append(cmds, messages.ReleaseStock{ProductID: l.ProductID, OrderID: st.OrderID})
		}
	}
	return cmds
}
