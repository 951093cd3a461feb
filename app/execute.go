package app

import (
	"time"

	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/messages"
)

// execute runs a command's handler in this process, within the bound on
// commands running at once: beyond it the command is refused before it
// runs (INTERNAL, retryable), so under overload an error always means
// nothing was recorded.
func (d *deps) execute(cmd messages.Command, run func() error) (err error) {
	defer func(began time.Time) { d.cfg.Metrics.observe(cmd.CommandName(), began, err) }(time.Now())
	if d.pending != nil {
		select {
		case d.pending <- struct{}{}:
			defer func() { <-d.pending }()
		default:
			return errcode.New(errcode.Internal, "orderflow is at capacity (%d commands running): %s for %s did not run, nothing was recorded; retry later (an order with the same idempotencyKey)",
				cap(d.pending), cmd.CommandName(), cmd.AggregateID()).Retryable()
		}
	}
	return run()
}
