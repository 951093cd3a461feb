package app

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	id, err := d.sender.Send(ctx, cmd, env)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.OutcomeTimeout)
	defer cancel()
	q := `SELECT error_code, error_message FROM ` + pgx.Identifier{store.Schema(), "inbox"}.Sanitize() + ` WHERE handler = $1 AND message_id = $2`
	wait := 2 * time.Millisecond
	for {
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
		select {
		case <-ctx.Done():
			return errcode.New(errcode.Internal, "%s for %s was not handled within %s: is a worker running?",
				cmd.CommandName(), cmd.AggregateID(), d.cfg.OutcomeTimeout)
		case <-time.After(wait):
		}
		wait = min(wait*2, 50*time.Millisecond)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
