package sagas

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/messages"
)

// ErrNoSaga is returned by Resend for an order that has no saga.
var ErrNoSaga = errors.New("order has no saga")

// ErrResendRefused is returned by Resend for a command that does not fit
// what the saga knows of its order: committing stock or capturing the
// payment of an order the saga did not see confirmed, releasing or voiding
// for one it did not give up, or a product or customer that is not the
// order's.
var ErrResendRefused = errors.New("the saga refuses to send it")

// Resend is the reconciler's way (orderflow reconcile) to make a saga send
// again what never landed, under new message ids. The saga's own deadline
// re-sends with the same ids, which a handler that recorded the message
// (say, as a refusal, or before its event was lost) answers with nothing;
// a new id makes the handler decide again on the aggregate as it stands,
// and since every aggregate decides once per order (a second reservation,
// commit, capture, release or void of one order is a no-op), a command sent
// once too often changes nothing.
//
// It sends the commands the saga's phase waits on, if it is still open
// (its deadline is re-armed, so an overdue saga gets a full step timeout
// to hear the answer), and the settlement or compensation commands in
// missing (CommitStock, CapturePayment for a confirmed order; ReleaseStock,
// VoidPayment for one the saga gave up), each once. Commands on the order
// itself run in the saga's transaction, as always; the other contexts'
// are sent before Resend returns. It returns what it sent.
func (p *Processor) Resend(ctx context.Context, orderID string, missing ...messages.Command) ([]Command, error) {
	nonce := uuid.NewString()
	var (
		st   *State
		d    Decision
		sent []Command
	)
	err := p.inTx(ctx, func(tx *handlers.Tx) error {
		var err error
		if st, _, err = p.store.lockAndLoad(ctx, tx, orderID, true); err != nil {
			return err
		}
		if st == nil {
			return fmt.Errorf("resend for order %s: %w", orderID, ErrNoSaga)
		}
		cmds, err := st.resendable(missing, nonce)
		if err != nil {
			return err
		}
		if st.Active() {
			st.arm(p.now(), p.cfg.Policy, p.jitter)
		}
		sent = cmds
		d, err = p.decideInTx(ctx, tx, st, Decision{Commands: cmds})
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := p.sendAll(ctx, st, d); err != nil {
		return nil, err
	}
	p.observe(st, d)
	p.logger.Info("saga re-sent commands for the reconciler", "order_id", orderID, "phase", st.Phase, "commands", len(sent))
	return sent, nil
}

// resendable returns the commands Resend sends, with message ids derived
// from their usual ones and nonce: those the open phase waits on, then the
// missing ones it accepts, none twice.
func (s *State) resendable(missing []messages.Command, nonce string) ([]Command, error) {
	var cmds []Command
	if s.Active() {
		cmds = s.outstanding()
	}
	confirmed := s.confirmed()
	gaveUp := s.Failure != nil && !confirmed
	for _, m := range missing {
		var key string
		var ok bool
		switch c := m.(type) {
		case messages.CommitStock:
			key, ok = "commit:"+c.ProductID, confirmed && c.OrderID == s.OrderID && s.line(c.ProductID) != nil
		case messages.CapturePayment:
			key, ok = "capture", confirmed && c.OrderID == s.OrderID && c.CustomerID == s.CustomerID
		case messages.ReleaseStock:
			key, ok = "release:"+c.ProductID, gaveUp && c.OrderID == s.OrderID && s.line(c.ProductID) != nil
		case messages.VoidPayment:
			key, ok = "void:authorized", gaveUp && c.OrderID == s.OrderID && c.CustomerID == s.CustomerID
		}
		if !ok {
			return nil, fmt.Errorf("resend %s for order %s (saga %s, confirmed %t, gave up %t): %w",
				m.CommandName(), s.OrderID, s.Phase, confirmed, gaveUp, ErrResendRefused)
		}
		cmds = append(cmds, s.command(key, m))
	}
	var out []Command
	seen := map[string]bool{}
	for _, c := range cmds {
		if seen[c.ID] {
			continue
		}
		seen[c.ID] = true
		out = append(out, Command{ID: uuid.NewSHA1(sagaNamespace, []byte(c.ID+"\x00"+nonce)).String(), Message: c.Message})
	}
	return out, nil
}
