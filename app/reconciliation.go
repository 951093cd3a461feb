package app

import (
	"context"

	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/reconcile"
)

// ReconciliationReports reads the last reconciliation report
// (reconcile.ReportStore).
type ReconciliationReports interface {
	Last(ctx context.Context) (*reconcile.Report, error)
}

// ReconciliationHandler lets an operator read the last reconciliation:
// where the services' data disagreed, what was healed and what needs a
// person.
type ReconciliationHandler struct{ d *deps }

// Handle returns the last report, nil before the first run (admin only).
func (h ReconciliationHandler) Handle(ctx context.Context, actor auth.Principal) (*reconcile.Report, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	return h.d.read.Reconciliation.Last(ctx)
}
