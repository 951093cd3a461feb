package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/command/bus"
	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/messages"
)

// sendAndWait sends cmd and waits until its handler recorded the outcome in
// the inbox of store: nil when the command was applied, the domain's coded
// refusal otherwise.
func (d *deps) sendAndWait(ctx context.Context, store *eventstore.Store, cmd messages.Command, env bus.Envelope) error {
	handler, ok := handlers.HandlerName(cmd.CommandName())
	if !ok {
		return errcode.New(errcode.Internal, "no handler for command %s", cmd.CommandName())
	}
	if d.pending != nil {
		select {
		case d.pending <- struct{}{}:
			defer func() { <-d.pending }()
		default:
			return errcode.New(errcode.Internal, "orderflow is at capacity (%d commands waiting for their handlers): %s for %s was not sent, nothing was recorded; retry later (an order with the same idempotencyKey)",
				cap(d.pending), cmd.CommandName(), cmd.AggregateID()).Retryable()
		}
	}
	id := env.MessageID
	if id == "" {
		id = uuid.NewString()
		env.MessageID = id
	}
	// A handler in this process says when it committed; one elsewhere is
	// found by polling.
	committed, stop := d.h.OutcomeCommitted(handler, id)
	defer stop()
	if _, err := d.sender.Send(ctx, cmd, env); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.OutcomeTimeout)
	defer cancel()
	q := `SELECT error_code, error_message FROM ` + pgx.Identifier{store.Schema(), "inbox"}.Sanitize() + ` WHERE handler = $1 AND message_id = $2`
	// Polls start 2 ms apart and double to 50 ms; a command waiting longer
	// than that (a backlog) is polled at a quarter of its age, up to a
	// second apart, so thousands of waiting callers do not flood the
	// database while the handlers catch up.
	start := time.Now()
	wait := 2 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return errcode.New(errcode.Internal, "%s for %s was not handled within %s: is a worker running?",
				cmd.CommandName(), cmd.AggregateID(), d.cfg.OutcomeTimeout)
		case <-committed:
			committed = nil // read it now; a closed channel would spin
		case <-time.After(wait):
			age := time.Since(start)
			ceiling := max(50*time.Millisecond, min(age/4, time.Second))
			wait = min(max(2*wait, age/4), ceiling)
		}
		var code, text *string
		err := store.Pool().QueryRow(ctx, q, handler, id).Scan(&code, &text)
		switch {
		case err == nil && code == nil:
			return nil
		case err == nil:
			return errcode.New(errcode.Code(*code), "%s", deref(text))
		case !errors.Is(err, pgx.ErrNoRows) && ctx.Err() == nil:
			return fmt.Errorf("read outcome of %s %s: %w", cmd.CommandName(), id, err)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
