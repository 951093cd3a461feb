package app

import (
	"context"
	"unicode/utf8"

	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/deadletter"
)

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
