package app

import (
	"errors"
	"time"

	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/messages"
)

// OutcomeDetail names, on a retryable INTERNAL answer to a command, whether
// the command may have been recorded: OutcomeUnknown or OutcomeNotRecorded.
// It reaches clients as extensions.outcome (GraphQL) or details.outcome
// (REST).
const OutcomeDetail = "outcome"

// The values of OutcomeDetail.
const (
	// OutcomeUnknown: the database did not confirm the commit; the command
	// may have been recorded. Sending it again with the same idempotency
	// key (for cancelOrder, the same request) answers what was recorded.
	OutcomeUnknown = "UNKNOWN"
	// OutcomeNotRecorded: the command failed before its commit; nothing was
	// recorded and it may be sent again.
	OutcomeNotRecorded = "NOT_RECORDED"
)

// execute runs a command's handler in this process, within the bound on
// commands running at once: beyond it the command is refused before it
// runs (INTERNAL, retryable), so under overload an error always means
// nothing was recorded.
//
// Every answer is truthful: a refusal by the domain is returned as it is;
// a failure of the infrastructure (the database unreachable, a connection
// lost during the commit) becomes a retryable INTERNAL error that says
// whether anything may have been recorded (OutcomeDetail), never a plain
// INTERNAL a client would take for "not placed" while the order goes on.
func (d *deps) execute(cmd messages.Command, run func() error) (err error) {
	defer func(began time.Time) { d.cfg.Metrics.observe(cmd.CommandName(), began, err) }(time.Now())
	if d.pending != nil {
		select {
		case d.pending <- struct{}{}:
			defer func() { <-d.pending }()
		default:
			return errcode.New(errcode.Internal, "orderflow is at capacity (%d commands running): %s for %s did not run, nothing was recorded; retry later (an order with the same idempotencyKey)",
				cap(d.pending), cmd.CommandName(), cmd.AggregateID()).Retryable().With(OutcomeDetail, OutcomeNotRecorded)
		}
	}
	return d.answer(cmd, run())
}

// executeForView runs a command like execute, through run, and answers
// with view of the aggregate as the command left it (handlers.With.View,
// under the stream's lock): no read after the write. run passes with on to
// the command's handler, adding what else it needs (a placement's hook).
func executeForView[A handlers.Aggregate, V any](d *deps, cmd messages.Command, view func(A) V, run func(with handlers.With[A]) (handlers.Result, error)) (V, error) {
	var out V
	err := d.execute(cmd, func() error {
		_, err := run(handlers.With[A]{View: func(a A) { out = view(a) }})
		return err
	})
	if err != nil {
		var none V
		return none, err
	}
	return out, nil
}

// answer turns an infrastructure failure of cmd into its truthful answer;
// the cause is logged, not shown to the client.
func (d *deps) answer(cmd messages.Command, err error) error {
	var coded *errcode.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &coded) && (coded.Code != errcode.Internal || errcode.IsRetryable(err)):
		return err
	case errors.Is(err, handlers.ErrOutcomeUnknown):
		d.logger.Warn("command outcome unknown, the client is told to retry", "command", cmd.CommandName(), "aggregate_id", cmd.AggregateID(), "error", err)
		return errcode.New(errcode.Internal, "the outcome of %s for %s is unknown (the database did not confirm the commit): send it again with the same idempotencyKey, which answers what was recorded",
			cmd.CommandName(), cmd.AggregateID()).Retryable().With(OutcomeDetail, OutcomeUnknown)
	default:
		d.logger.Warn("command failed before its commit, the client is told to retry", "command", cmd.CommandName(), "aggregate_id", cmd.AggregateID(), "error", err)
		return errcode.New(errcode.Internal, "%s for %s failed before anything was recorded; retry later",
			cmd.CommandName(), cmd.AggregateID()).Retryable().With(OutcomeDetail, OutcomeNotRecorded)
	}
}
