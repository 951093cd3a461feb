package app

import (
	"context"

	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/deadletter"
	"github.com/orderflow/orderflow/internal/errcode"
)

// DeadLetterStore is the dead-letter store (deadletter.Store).
type DeadLetterStore interface {
	List(ctx context.Context, f deadletter.Filter, first int, after int64) (deadletter.Page, error)
	Get(ctx context.Context, id int64) (*deadletter.Entry, error)
	Replay(ctx context.Context, ids []int64, aggregate, actor string) ([]int64, error)
	Discard(ctx context.Context, id int64, reason, actor string) error
}

// Bounds of the dead-letter operations' input.
const (
	// MaxDeadLettersPage bounds a page of dead letters.
	MaxDeadLettersPage = 500
	// MaxReplayIDs bounds the entries one replay names.
	MaxReplayIDs = 1000
	// MaxDiscardReason bounds a discard's reason, in characters.
	MaxDiscardReason = 500
)

// DeadLettersHandler lets an operator list the dead-letter store.
type DeadLettersHandler struct{ d *deps }

// Handle returns up to first entries the filter selects, newest first,
// after the entry after (0: from the newest), with the counts per handler
// and class of all of them (admin only).
func (h DeadLettersHandler) Handle(ctx context.Context, actor auth.Principal, f deadletter.Filter, first int, after int64) (deadletter.Page, error) {
	if err := requireAdmin(actor); err != nil {
		return deadletter.Page{}, err
	}
	if first < 0 || first > MaxDeadLettersPage {
		return deadletter.Page{}, invalid("first", "must be between 0 and %d", MaxDeadLettersPage)
	}
	if first == 0 {
		first = 50
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return deadletter.Page{}, invalid("to", "must not be before from")
	}
	return h.d.read.DeadLetters.List(ctx, f, first, after)
}

func invalid(field, format string, args ...any) error {
	return errcode.New(errcode.InvalidOrderData, "%s "+format, append([]any{field}, args...)...).With("field", field)
}
