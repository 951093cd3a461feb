package app

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/deadletter"
)

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
