package projections_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/internal/config"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/projections"
	"github.com/orderflow/orderflow/projections/documents"
	"github.com/orderflow/orderflow/query"
)

// Real orders through the write path, projected by the live projectors
// from Kafka: each saga outcome ends in the document the event store says.
func TestSagaPathsYieldTheirDocuments(t *testing.T) {
	t.Parallel()
	w := setup(t, worldOptions{live: true, writePath: true})
	mug, pen := w.product("Blue Coffee Mug", 10, 1250), w.product("Ballpoint Pen", 5, 199)
	scarce := w.product("Golden Statue", 1, 100)
	ann := w.customer("Ann Archer", 10000)
	bob := w.customer("Bob Builder", 100)

	confirmed := w.place(ann.ID, item(mug, 2), item(pen, 3))
	outOfStock := w.place(ann.ID, item(pen, 1), item(scarce, 5))
	refused := w.place(bob.ID, item(mug, 1))

	t.Run("confirmed", func(t *testing.T) {
		final := w.settled(confirmed.ID)
		o := w.projected(confirmed.ID, final.Version)

		require.Equal(t, messages.StatusConfirmed, o.Status)
		require.Equal(t, messages.StepOrderConfirmed, o.CurrentStep)
		require.Equal(t, messages.AllSagaSteps(), o.CompletedSteps)
		require.Empty(t, o.PendingSteps)
		require.Nil(t, o.Failure)
		require.Equal(t, []messages.OrderLine{
			{ProductID: mug.ID, ProductName: "Blue Coffee Mug", SKU: mug.SKU, Quantity: 2, UnitPrice: 1250},
			{ProductID: pen.ID, ProductName: "Ballpoint Pen", SKU: pen.SKU, Quantity: 3, UnitPrice: 199},
		}, o.Items)
		require.Equal(t, money.Amount(2*1250+3*199), o.Total)
		require.Equal(t, "USD", o.Currency)
		require.Equal(t, ann.ID, o.CustomerID)
		require.Equal(t, "Ann Archer", o.CustomerName)
		require.Equal(t, ann.Email, o.CustomerEmail)
		require.Equal(t, final.CreatedAt, o.CreatedAt)
		require.Equal(t, final.UpdatedAt, o.UpdatedAt)
		require.Equal(t, final.Version, o.Version)
		require.Equal(t, []string{"ordering.OrderPlaced", "ordering.OrderStepCompleted", "ordering.OrderStepCompleted", "ordering.OrderConfirmed"}, timelineTypes(o))
		for i, e := range o.Timeline {
			require.Equal(t, i+1, e.Version)
			require.False(t, e.At.IsZero())
			require.NotEmpty(t, e.EventID)
		}
	})

	t.Run("cancelled for inventory", func(t *testing.T) {
		final := w.settled(outOfStock.ID)
		o := w.projected(outOfStock.ID, final.Version)

		require.Equal(t, messages.StatusCancelled, o.Status)
		require.NotNil(t, o.Failure)
		require.Equal(t, errcode.InventoryUnavailable, o.Failure.Code)
		require.Equal(t, final.Failure.Message, o.Failure.Message)
		require.Equal(t, final.Failure.Step, o.Failure.Step)
		require.Equal(t, final.CompletedSteps, o.CompletedSteps)
		require.Empty(t, o.PendingSteps)
		require.Equal(t, final.Version, o.Version)
		require.Contains(t, timelineTypes(o), "ordering.OrderCancelled")
	})

	t.Run("payment failed", func(t *testing.T) {
		final := w.settled(refused.ID)
		o := w.projected(refused.ID, final.Version)

		require.Equal(t, messages.StatusCancelled, o.Status)
		require.Equal(t, errcode.PaymentFailed, o.Failure.Code)
		require.Equal(t, messages.StepInventoryReserved, o.CurrentStep, "stock was reserved before the payment was refused")
		require.Equal(t, []query.Compensation{{Step: messages.StepInventoryReserved, Action: o.Compensations[0].Action, Reason: o.Compensations[0].Reason, At: o.Compensations[0].At}}, o.Compensations)
		require.NotEmpty(t, o.Compensations[0].Action)
		require.Contains(t, timelineTypes(o), "ordering.OrderCompensated")
		require.Equal(t, "Bob Builder", o.CustomerName)
	})

	t.Run("products and customers", func(t *testing.T) {
		ctx := context.Background()
		for _, id := range []string{mug.ID, pen.ID, scarce.ID} {
			agg, err := w.svc.Handlers().Products.Load(ctx, id)
			require.NoError(t, err)
			want := app.ProductView(agg)
			require.Eventually(t, func() bool {
				got, err := w.products.Product(ctx, id)
				return err == nil && got.Version == want.Version
			}, time.Minute, 20*time.Millisecond)
			got, err := w.products.Product(ctx, id)
			require.NoError(t, err)
			require.Equal(t, want.Available, got.Available)
			require.Equal(t, want.Reserved, got.Reserved)
			require.Equal(t, want.SKU, got.SKU)
			require.Equal(t, want.Name, got.Name)
			require.Equal(t, want.Price, got.Price)
		}
		mugDoc, err := w.products.Product(ctx, mug.ID)
		require.NoError(t, err)
		require.Equal(t, 8, mugDoc.OnHand, "two mugs sold")
		require.Equal(t, 2, mugDoc.Committed)
		require.Equal(t, 8, mugDoc.Available)

		for _, c := range []query.Customer{ann, bob} {
			// The source of truth: the customer's stream (a query would
			// read the read model this test waits for).
			agg, err := w.svc.Handlers().Customers.Load(ctx, c.ID)
			require.NoError(t, err)
			want := app.CustomerView(agg)
			require.Eventually(t, func() bool {
				got, err := w.customers.Customer(ctx, c.ID)
				return err == nil && got.Version == want.Version
			}, time.Minute, 20*time.Millisecond)
			got, err := w.customers.Customer(ctx, c.ID)
			require.NoError(t, err)
			require.Equal(t, want.Balance, got.Balance)
			require.Equal(t, want.Held, got.Held)
			require.Equal(t, want.Email, got.Email)
		}
		annDoc, err := w.customers.Customer(ctx, ann.ID)
		require.NoError(t, err)
		require.Equal(t, money.Amount(2*1250+3*199), annDoc.Captured)

		_, err = w.products.Product(ctx, "no-such-product")
		require.True(t, errcode.Is(err, errcode.NotFound), "got %v", err)
		_, err = w.customers.Customer(ctx, "no-such-customer")
		require.True(t, errcode.Is(err, errcode.NotFound), "got %v", err)
		_, err = w.orders.Order(ctx, "no-such-order")
		require.True(t, errcode.Is(err, errcode.NotFound), "got %v", err)
	})

	t.Run("status", func(t *testing.T) {
		ctx := context.Background()
		require.Eventually(t, func() bool {
			st, err := w.proj.Status(ctx)
			if err != nil || len(st) != 3 {
				return false
			}
			for _, s := range st {
				if s.LagEvents != 0 || s.LagSeconds != 0 || s.Index == "" || len(s.Partitions) == 0 {
					return false
				}
			}
			return true
		}, time.Minute, 100*time.Millisecond, "projections did not catch up")
		st, err := w.proj.Status(ctx)
		require.NoError(t, err)
		require.Equal(t, projections.Orders, st[0].Projection)
		require.Equal(t, w.env.Config.ConsumerGroup(projections.OrdersHandlerName), st[0].Group)
		var committed int64
		for _, p := range st[0].Partitions {
			committed += max(0, p.Committed)
		}
		require.Positive(t, committed, "the orders projector committed offsets")

		families, err := w.reg.Gather()
		require.NoError(t, err)
		series := 0
		for _, f := range families {
			if f.GetName() == "orderflow_projection_lag_events" || f.GetName() == "orderflow_projection_lag_seconds" {
				series += len(f.GetMetric())
			}
		}
		require.Equal(t, 6, series, "lag events and seconds for each of three projections")
		require.Positive(t, metricValue(t, w, "orderflow_projection_documents_written_total", "orders"))
	})
}

func timelineTypes(o query.Order) []string {
	var out []string
	for _, e := range o.Timeline {
		out = append(out, e.Type)
	}
	return out
}

// The apply function fed directly with duplicates, reordered events and
// holes: the document always ends as the fold of its stream, and a hole is
// healed from the event store rather than skipped.
func TestDuplicatedAndReorderedEventsLeaveTheSameDocument(t *testing.T) {
	t.Parallel()
	w := setup(t, worldOptions{writePath: true}) // no live projector: the test is the only writer
	ctx := context.Background()
	p := w.product("Mug", 100, 300)
	c := w.customer("Carla Cruz", 100000)

	var ids []string
	for range 6 {
		ids = append(ids, w.place(c.ID, item(p, 1)).ID)
	}
	streams := map[string][]documents.Event{}
	wants := map[string]documents.Order{}
	for _, id := range ids {
		final := w.settled(id)
		streams[id] = w.storeEvents(config.Ordering, id)
		require.Len(t, streams[id], final.Version)
		wants[id] = normalized(t, wantOrder(t, streams[id], c))
	}
	doc := func(id string) documents.Order {
		t.Helper()
		d, ok := rawDocument[documents.Order](t, w, w.proj.Alias(projections.Orders), id)
		require.True(t, ok, "order %s has no document", id)
		return d
	}
	healed := func() float64 {
		return metricValue(t, w, "orderflow_projection_gaps_healed_total", "orders")
	}

	t.Run("every event twice, one at a time", func(t *testing.T) {
		id := ids[0]
		for _, e := range streams[id] {
			require.NoError(t, w.proj.Apply(ctx, projections.Orders, e))
			require.NoError(t, w.proj.Apply(ctx, projections.Orders, e))
		}
		require.Equal(t, wants[id], doc(id))
	})

	t.Run("shuffled with duplicates in one batch", func(t *testing.T) {
		id := ids[1]
		batch := append(append([]documents.Event{}, streams[id]...), streams[id]...)
		rand.Shuffle(len(batch), func(a, b int) { batch[a], batch[b] = batch[b], batch[a] })
		require.NoError(t, w.proj.Apply(ctx, projections.Orders, batch...))
		require.Equal(t, wants[id], doc(id))
	})

	t.Run("newest first heals from the event store", func(t *testing.T) {
		id := ids[2]
		events := streams[id]
		before := healed()
		require.NoError(t, w.proj.Apply(ctx, projections.Orders, events[len(events)-1]))
		require.Equal(t, wants[id], doc(id), "a missing document and the last event: the whole stream is read and projected")
		require.Equal(t, before+1, healed())
		for i := len(events) - 2; i >= 0; i-- {
			require.NoError(t, w.proj.Apply(ctx, projections.Orders, events[i]))
		}
		require.Equal(t, wants[id], doc(id), "older events change nothing")
	})

	t.Run("a hole in the middle", func(t *testing.T) {
		id := ids[3]
		events := streams[id]
		require.NoError(t, w.proj.Apply(ctx, projections.Orders, events[0]))
		require.Equal(t, 1, doc(id).Version)
		before := healed()
		require.NoError(t, w.proj.Apply(ctx, projections.Orders, events[2]), "version 3 on a document at version 1")
		require.Equal(t, before+1, healed())
		require.Equal(t, wants[id], doc(id), "the gap was filled from the store, never papered over")
	})

	t.Run("late event after the end", func(t *testing.T) {
		id := ids[4]
		require.NoError(t, w.proj.Apply(ctx, projections.Orders, streams[id]...))
		require.NoError(t, w.proj.Apply(ctx, projections.Orders, streams[id][1]))
		require.Equal(t, wants[id], doc(id))
	})

	t.Run("concurrent duplicate writers", func(t *testing.T) {
		// Several projectors racing on the same events: losers get 409s,
		// which are expected and not errors.
		id := ids[5]
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, e := range streams[id] {
					errs <- w.proj.Apply(ctx, projections.Orders, e)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.Equal(t, wants[id], doc(id))
		require.Positive(t, metricValue(t, w, "orderflow_projection_stale_writes_total", "orders"))
	})

	t.Run("status shows the lag of a projector that is not running", func(t *testing.T) {
		var st []projections.Status
		require.Eventually(t, func() bool {
			var err error
			st, err = w.proj.Status(ctx)
			return err == nil && st[0].LagEvents >= int64(len(ids)*4)
		}, time.Minute, 100*time.Millisecond, "every order event published waits for the orders projector")
		require.Equal(t, projections.Orders, st[0].Projection)
		require.Positive(t, st[0].LagSeconds)
		for _, p := range st[0].Partitions {
			require.Equal(t, int64(-1), p.Committed, "the group never committed")
		}
		require.Positive(t, st[1].LagEvents, "products")
		require.Positive(t, st[2].LagEvents, "customers")
	})

	t.Run("reproject repairs a damaged document", func(t *testing.T) {
		id := ids[0]
		// Damage the document at its own version, as a bug might.
		broken := wants[id]
		broken.Status, broken.Items = messages.StatusPending, nil
		writeRaw(t, w, w.proj.Alias(projections.Orders), id, broken.Version, "external_gte", broken)
		require.Equal(t, messages.StatusPending, doc(id).Status)

		require.NoError(t, w.proj.ReprojectOrder(ctx, id))
		require.Equal(t, wants[id], doc(id))
		require.ErrorIs(t, w.proj.ReprojectOrder(ctx, "no-such-order"), projections.ErrStreamNotFound)
	})
}

// metricValue reads a counter or gauge of one projection from the
// world's registry (0 when absent).
func metricValue(t *testing.T, w *world, name, projection string) float64 {
	t.Helper()
	return registryValue(t, w.reg, name, projection)
}

// registryValue reads a counter or gauge of one projection from reg (0
// when absent).
func registryValue(t *testing.T, reg *prometheus.Registry, name, projection string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "projection" && l.GetValue() == projection {
					if m.GetCounter() != nil {
						return m.GetCounter().GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return 0
}

// writeRaw indexes a document directly, bypassing the projector.
func writeRaw(t *testing.T, w *world, index, id string, version int, versionType string, doc any) {
	t.Helper()
	body, err := json.Marshal(doc)
	require.NoError(t, err)
	res, err := esapi.IndexRequest{Index: index, DocumentID: id, Body: bytes.NewReader(body), Version: &version, VersionType: versionType}.Do(context.Background(), w.svc.Elastic)
	require.NoError(t, err)
	defer res.Body.Close()
	require.False(t, res.IsError(), res.String())
}
