package app

import (
	"context"
	"strings"
	"unicode/utf8"

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

// DeadLetterHandler lets an operator read one dead letter with its audit
// trail.
type DeadLetterHandler struct{ d *deps }

// Handle returns the entry (admin only); NOT_FOUND if there is none.
func (h DeadLetterHandler) Handle(ctx context.Context, actor auth.Principal, id int64) (*deadletter.Entry, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	return h.d.read.DeadLetters.Get(ctx, id)
}

// ReplayDeadLettersHandler has the handlers' schedulers try dead letters
// again: the given entries, or every open entry of an aggregate. They go
// through the same handler and inbox, in order per aggregate; the entries
// waiting behind them follow.
type ReplayDeadLettersHandler struct{ d *deps }

// Handle requests the replay and returns the entries it applies to (admin
// only); entries already replayed or discarded are left out.
func (h ReplayDeadLettersHandler) Handle(ctx context.Context, actor auth.Principal, ids []int64, aggregateID string) ([]deadletter.Entry, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	switch {
	case len(ids) == 0 && aggregateID == "":
		return nil, invalid("ids", "give ids or an aggregateId")
	case len(ids) > 0 && aggregateID != "":
		return nil, invalid("aggregateId", "give ids or an aggregateId, not both")
	case len(ids) > MaxReplayIDs:
		return nil, invalid("ids", "at most %d at once", MaxReplayIDs)
	case utf8.RuneCountInString(aggregateID) > 64:
		return nil, invalid("aggregateId", "at most 64 characters")
	}
	changed, err := h.d.read.DeadLetters.Replay(ctx, ids, aggregateID, actor.Subject)
	if err != nil {
		return nil, err
	}
	out := make([]deadletter.Entry, 0, len(changed))
	for _, id := range changed {
		e, err := h.d.read.DeadLetters.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
	}
	return out, nil
}

// DiscardDeadLetterHandler gives a dead letter up for good, with a reason;
// the entries waiting behind it follow.
type DiscardDeadLetterHandler struct{ d *deps }

// Handle discards the entry and returns it (admin only).
func (h DiscardDeadLetterHandler) Handle(ctx context.Context, actor auth.Principal, id int64, reason string) (*deadletter.Entry, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return nil, invalid("reason", "is required")
	case utf8.RuneCountInString(reason) > MaxDiscardReason || !utf8.ValidString(reason):
		return nil, invalid("reason", "must be valid text of at most %d characters", MaxDiscardReason)
	}
	if err := h.d.read.DeadLetters.Discard(ctx, id, reason, actor.Subject); err != nil {
		return nil, err
	}
	return h.d.read.DeadLetters.Get(ctx, id)
}

func invalid(field, format string, args ...any) error {
	return errcode.New(errcode.InvalidOrderData, "%s "+format, append([]any{field}, args...)...).With("field", field)
}
