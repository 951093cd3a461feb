package graph_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/systemtest"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/reconcile"
)

// Operators read the last reconciliation report, whichever process ran
// it; customers may not.
func TestReconciliationReport(t *testing.T) {
	t.Parallel()
	f := setupWith(t, systemtest.Options{API: true})
	const q = `query { reconciliation { startedAt finishedAt healing grace since fullAt checkedOrders checkedProducts checkedCustomers checkedSagas
		counts { kind count } healed needsPerson healable omitted
		findings { kind orderId productId customerId context eventId expected found resolution action } } }`

	res := f.post(t, f.admin, q, nil)
	require.Empty(t, res.Errors)
	require.JSONEq(t, `{"reconciliation": null}`, string(res.Data), "no run yet")

	mug := f.createProduct(t, "1.00", 5)
	// Another process (orderflow reconcile) runs the reconciliation, after
	// a reservation for an order that does not exist was written past
	// every handler.
	ctx := context.Background()
	job, err := service.Open(ctx, f.env.Config, f.env.Logger)
	require.NoError(t, err)
	t.Cleanup(job.Close)
	store := job.Stores().Inventory
	tx, err := store.Pool().Begin(ctx)
	require.NoError(t, err)
	_, err = store.Append(ctx, tx, mug.ID, handlers.ProductStream, 1, eventstore.Metadata{},
		messages.StockReserved{ProductID: mug.ID, OrderID: "ghost", Quantity: 2})
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))
	cfg := reconcile.DefaultConfig()
	cfg.Grace, cfg.DryRun = 0, true
	projector, err := job.NewProjector()
	require.NoError(t, err)
	saga, err := job.OpenSagas()
	require.NoError(t, err)
	rec, err := job.Reconciler(cfg, projector, saga)
	require.NoError(t, err)
	report, err := rec.Run(ctx)
	require.NoError(t, err)

	type divergence struct {
		Kind, Expected, Found, Resolution, Action string
		OrderID, ProductID, CustomerID, Context   *string
		EventID                                   *string
	}
	var resp struct {
		Reconciliation struct {
			StartedAt, FinishedAt, Grace                                   string
			Since, FullAt                                                  *string
			Healing                                                        bool
			CheckedOrders, CheckedProducts, CheckedCustomers, CheckedSagas int
			Counts                                                         []struct {
				Kind  string
				Count int
			}
			Healed, NeedsPerson, Healable, Omitted int
			Findings                               []divergence
		}
	}
	require.NoError(t, f.client(f.admin).Post(q, &resp))
	got := resp.Reconciliation
	require.False(t, got.Healing)
	require.Equal(t, "0s", got.Grace)
	require.Nil(t, got.Since, "orderflow reconcile compares everything")
	require.NotNil(t, got.FullAt)
	require.Equal(t, got.StartedAt, *got.FullAt)
	require.Equal(t, 1, got.CheckedProducts)
	require.Equal(t, report.NeedsPerson, got.NeedsPerson)
	require.Equal(t, report.Healable, got.Healable)
	require.Len(t, got.Counts, len(reconcile.Kinds()), "every kind, as the gauge")
	for _, c := range got.Counts {
		require.Equal(t, report.Counts[reconcile.Kind(c.Kind)], c.Count, c.Kind)
	}
	require.Len(t, got.Findings, len(report.Findings))
	var orphan *divergence
	for i, d := range got.Findings {
		if d.Kind == string(reconcile.ReservationOrphaned) {
			orphan = &got.Findings[i]
		}
	}
	require.NotNil(t, orphan, "findings: %+v", got.Findings)
	require.Equal(t, "ghost", *orphan.OrderID)
	require.Equal(t, mug.ID, *orphan.ProductID)
	require.Nil(t, orphan.CustomerID)
	require.Equal(t, "NEEDS_PERSON", orphan.Resolution)
	require.Equal(t, "nothing: no such order", orphan.Expected)
	require.Equal(t, "reserved (2 units)", orphan.Found)
	require.NotEmpty(t, orphan.Action)

	customer := f.registerCustomer(t, "1.00")
	requireCode(t, f.post(t, f.token(t, customer.ID, auth.RoleCustomer), q, nil), "FORBIDDEN")
	requireCode(t, f.post(t, "", q, nil), "UNAUTHENTICATED")
}
