package app

import (
	"context"

	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/projections"
)

// ProjectionStatusReader reports where the read-model projections stand.
type ProjectionStatusReader interface {
	Status(ctx context.Context) ([]projections.Status, error)
}

// ProjectionStatusHandler lets an operator see the read models' lag.
type ProjectionStatusHandler struct{ d *deps }

// Handle returns every projection's status (admin only).
func (h ProjectionStatusHandler) Handle(ctx context.Context, actor auth.Principal) ([]projections.Status, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	return h.d.read.Projections.Status(ctx)
}
