package app

import (
	"context"

	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/deadletter"
)

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
