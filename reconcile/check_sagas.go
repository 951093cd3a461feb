package reconcile

import (
	"context"
	"fmt"
	"time"
)

// checkSagas reports the open sagas whose deadline passed longer than the
// grace period ago, which nothing fired (their orders are stuck), and has
// each send again what it waits on; and the sagas parked for a person.
func (r *Reconciler) checkSagas(ctx context.Context, ru *runState) error {
	var after sagaRow
	for {
		page, err := r.sagaTable.overdue(ctx, ru.cutoff, after, r.cfg.PageSize)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			break
		}
		after = page[len(page)-1]
		for _, s := range page {
			f := finding{Finding: Finding{
				Kind: SagaOverdue, OrderID: s.orderID,
				Expected: "its deadline fired within the grace period",
				Found: fmt.Sprintf("%s after %s, deadline passed %s ago", s.phase, s.lastStep,
					ru.report.StartedAt.Sub(s.deadline).Round(time.Second)),
			}, resendOpen: true}
			if err := r.healBySaga(ctx, ru, s.orderID, []finding{f}); err != nil {
				return err
			}
		}
		ru.report.Checked.Sagas += len(page)
	}
	afterID := ""
	for {
		page, err := r.sagaTable.parked(ctx, afterID, r.cfg.PageSize)
		if err != nil || len(page) == 0 {
			return err
		}
		afterID = page[len(page)-1].orderID
		for _, s := range page {
			found := "parked after " + s.lastStep
			if s.problem != "" {
				found += ": " + s.problem
			}
			r.record(ru, Finding{
				Kind: SagaParked, OrderID: s.orderID, Expected: "a finished saga", Found: found, Resolution: NeedsPerson,
				Action: "finish the order by hand from its events and saga state (sagas.order_sagas); the next run re-sends any compensation or settlement still missing",
			})
		}
		ru.report.Checked.Sagas += len(page)
	}
}
