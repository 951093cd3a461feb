package sagas

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/messages"
)

// ErrNothingToRedrive is returned by Redrive for a saga that is done.
var ErrNothingToRedrive = errors.New("the saga is done: nothing to re-drive")

// Redrive is the operator's re-drive of a stuck or parked saga (orderflow
// redrive, GraphQL redriveOrderSaga). From now on the saga sends its
// commands under ids derived from nonce (see Redrives): the same business
// key under new message ids, so a handler whose inbox recorded the old ones,
// or whose dead-letter store holds them, decides afresh; every aggregate
// decides once per order, so what landed before changes nothing.
//
//   - An open saga sends what its phase waits on again and gets a full set
//     of attempts from now.
//   - A saga parked while compensating (COMPENSATION_FAILED) compensates
//     again where it stood: the payment first, then the stock, each stage
//     sent when the one before is answered, with its deadlines. Once
//     nothing is left to undo it finishes with the status its order
//     recorded (FAILED, COMPENSATION_FAILED, as it parked); if nothing is
//     left already, it finishes now.
//   - A saga parked while settling a confirmed order commits and captures
//     what is not yet (or finishes now if all is).
//   - A saga parked in CONFIRMING (the order answered neither the
//     confirmation nor the cancellation) asks the order to cancel again.
//
// A re-driven saga that gets no answer again parks again after its
// attempts, as before. Redrive is pure; Processor.Redrive runs it under the
// saga's lock.
func (s *State) Redrive(now time.Time, p Policy, jitter func() float64, nonce string) (Decision, error) {
	if !s.Active() && s.Phase != PhaseParked {
		return Decision{}, ErrNothingToRedrive
	}
	s.Redrives = append(s.Redrives, nonce)
	s.Attempts = 0
	var d Decision
	if s.Phase == PhaseParked {
		if s.ParkedAt.IsZero() {
			s.ParkedAt = s.EndedAt // parked by an earlier version
		}
		s.Outcome, s.EndedAt = "", time.Time{}
		switch {
		case s.confirmed() && s.Failure == nil:
			s.Phase = PhaseSettling
			if d = s.settle(now); !d.Finished {
				d.Commands = s.outstanding()
			}
		case s.Failure != nil:
			if s.OrderEnded == "" {
				// Parked before OrderEnded was kept: the park failed the
				// order (COMPENSATION_FAILED) in its own transaction.
				s.OrderEnded = messages.StatusFailed
			}
			s.Phase = PhaseCompensating
			d = s.compensate(now, true)
		default:
			s.Phase = PhaseConfirming
			d.Commands = s.outstanding()
		}
	} else {
		d.Commands = s.outstanding()
	}
	if s.Active() {
		s.arm(now, p, jitter)
	}
	return d, nil
}

// Redrive is what Processor.Redrive did.
type Redrive struct {
	// Phase is the saga's phase before the re-drive, Now after it.
	Phase, Now Phase
	// Outcome is set when the saga finished.
	Outcome Outcome
	// Sent are the commands the re-drive sent (those on the order itself
	// ran in its transaction), under new message ids.
	Sent []Command
}

// Redrive re-drives the saga of orderID (see State.Redrive) in one
// transaction under the saga's lock: the state, with its new deadline, and
// the order's commands commit together; the other contexts' commands are
// sent after the commit, before Redrive returns. If the process dies in
// between, the saga's deadline sends them, under the re-drive's ids. It
// returns ErrNoSaga for an order without a saga and ErrNothingToRedrive
// for one that is done.
func (p *Processor) Redrive(ctx context.Context, orderID string) (Redrive, error) {
	nonce := uuid.NewString()
	var (
		st  *State
		out Redrive
		d   Decision
	)
	err := p.inTx(ctx, func(tx *handlers.Tx) error {
		var err error
		if st, _, err = p.store.lockAndLoad(ctx, tx, orderID, true); err != nil {
			return err
		}
		if st == nil {
			return fmt.Errorf("re-drive order %s: %w", orderID, ErrNoSaga)
		}
		out.Phase = st.Phase
		decided, err := st.Redrive(p.now(), p.cfg.Policy, p.jitter, nonce)
		if err != nil {
			return fmt.Errorf("re-drive order %s: %w", orderID, err)
		}
		out.Sent = decided.Commands
		d, err = p.decideInTx(ctx, tx, st, decided)
		return err
	})
	if err != nil {
		return Redrive{}, err
	}
	out.Now, out.Outcome = st.Phase, st.Outcome
	p.logger.Info("saga re-driven", "order_id", orderID, "from", out.Phase, "to", st.Phase, "commands", len(out.Sent))
	if err := p.sendAll(ctx, st, d); err != nil {
		p.observe(st, d)
		return out, fmt.Errorf("re-drive order %s: saved, but not every command was sent (its deadline sends them again): %w", orderID, err)
	}
	p.observe(st, d)
	return out, nil
}

// observe records a decision's metrics. A saga's end is counted once: a
// saga that parked was counted then, not again when it finishes after a
// re-drive (or parks again).
func (p *Processor) observe(st *State, d Decision) {
	if d.Counted {
		d.Finished = false
		p.logger.Info("saga that parked before ended", "order_id", st.OrderID, "phase", st.Phase, "outcome", st.Outcome)
	}
	p.metrics.observe(st, d)
}
