package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/internal/config"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/projections"
	"github.com/orderflow/orderflow/projections/documents"
	"github.com/orderflow/orderflow/query"
)

// A rebuild of the orders index while orders keep being placed and
// settled: readers by id and search never fail and never see an incomplete
// index, nothing committed during the rebuild is lost, and every document
// of the new index equals what the live projector writes (the fold of the
// stream in the event store).
func TestRebuildWhileOrdersArePlaced(t *testing.T) {
	t.Parallel()
	w := setup(t, worldOptions{live: true, writePath: true})
	ctx := context.Background()
	products := []query.Product{w.product("Blue Coffee Mug", 10000, 1250), w.product("Ballpoint Pen", 10000, 199)}
	poor, rich := w.customer("Pat Poor", 100), w.customer("Rita Rich", 100_000_000)
	customers := map[string]query.Customer{poor.ID: poor, rich.ID: rich}
	pick := func(i int) (query.Customer, query.Product) {
		if i%4 == 0 {
			return poor, products[i%2]
		}
		return rich, products[i%2]
	}

	var before []query.Order
	for i := range 12 {
		c, p := pick(i)
		before = append(before, w.place(c.ID, item(p, 1+i%3)))
	}
	for i, o := range before {
		before[i] = w.projected(o.ID, w.settled(o.ID).Version)
	}
	// Searches see refreshed documents: wait until all are searchable in
	// their final state.
	require.Eventually(t, func() bool {
		for _, s := range []messages.OrderStatus{messages.StatusConfirmed, messages.StatusCancelled} {
			res, err := w.orders.Search(ctx, query.OrderSearch{Statuses: []messages.OrderStatus{s}})
			if err != nil || res.Total != countStatus(before, s) {
				return false
			}
		}
		return true
	}, time.Minute, 50*time.Millisecond)
	require.Equal(t, len(before), countStatus(before, messages.StatusConfirmed)+countStatus(before, messages.StatusCancelled))
	oldIndex := liveIndex(t, w, projections.Orders)

	// Orders keep coming while the rebuild runs, and readers keep reading.
	stop := make(chan struct{})
	var (
		wg          sync.WaitGroup
		mu          sync.Mutex
		during      []string
		readFailure []string
		reads       int
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			c, p := pick(i)
			o, err := w.placeOrder(c.ID, item(p, 1))
			mu.Lock()
			if err != nil {
				readFailure = append(readFailure, "place: "+err.Error())
			} else {
				during = append(during, o.ID)
			}
			mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			want := before[i%len(before)]
			var failure string
			o, err := w.orders.Order(ctx, want.ID)
			switch {
			case err != nil:
				failure = fmt.Sprintf("order %s: %v", want.ID, err)
			case o.Version != want.Version || o.Status != want.Status:
				failure = fmt.Sprintf("order %s: version %d status %s, want %d %s", want.ID, o.Version, o.Status, want.Version, want.Status)
			}
			res, err := w.orders.Search(ctx, query.OrderSearch{Statuses: []messages.OrderStatus{want.Status}})
			switch {
			case err != nil:
				failure = fmt.Sprintf("search: %v", err)
			case res.Total < countStatus(before, want.Status):
				failure = fmt.Sprintf("search: %d %s orders, want at least %d", res.Total, want.Status, countStatus(before, want.Status))
			}
			mu.Lock()
			reads++
			if failure != "" {
				readFailure = append(readFailure, failure)
			}
			mu.Unlock()
		}
	}()

	var progress []projections.RebuildProgress
	res, err := w.proj.Rebuild(ctx, projections.Orders, projections.RebuildOptions{
		BatchSize: 5, Workers: 2, ProgressInterval: time.Nanosecond,
		Progress: func(p projections.RebuildProgress) { progress = append(progress, p) },
	})
	require.NoError(t, err)
	var after []string
	for i := range 3 {
		c, p := pick(i + 1)
		after = append(after, w.place(c.ID, item(p, 1)).ID)
	}
	close(stop)
	wg.Wait()

	require.Empty(t, readFailure, "readers during the rebuild")
	require.Positive(t, reads)
	require.NotEmpty(t, during, "orders were placed during the rebuild")
	t.Logf("%d orders placed during the rebuild, %d reads, %d progress reports, %d events", len(during), reads, len(progress), res.Events)
	require.Equal(t, oldIndex, res.Previous)
	require.NotEqual(t, oldIndex, res.Index)
	require.Equal(t, res.Index, liveIndex(t, w, projections.Orders))
	require.Positive(t, res.Events)
	// Both indexes leave the refresh interval to Elasticsearch's default
	// (see mappingRefreshInterval): the first as created, the rebuilt one
	// after the rebuild's -1 was reset, without which its shards would
	// never refresh and searches would not see later writes.
	for _, index := range []string{oldIndex, res.Index} {
		interval, set := refreshInterval(t, w, index)
		require.False(t, set, "index %s has an explicit refresh interval %q", index, interval)
	}
	require.Equal(t, projections.PhaseCopying, progress[0].Phase)
	require.Equal(t, projections.PhaseDone, progress[len(progress)-1].Phase)
	require.Positive(t, progress[len(progress)-1].Rate)

	// Every order, placed before, during or after, is in the live index
	// exactly as its stream folds.
	all := slices.Concat(ids(before), during, after)
	for _, id := range all {
		final := w.settled(id)
		w.projected(id, final.Version)
		events := w.storeEvents(config.Ordering, id)
		got, ok := rawDocument[documents.Order](t, w, w.proj.Alias(projections.Orders), id)
		require.True(t, ok)
		require.Equal(t, normalized(t, wantOrder(t, events, customers[final.CustomerID])), got, "order %s", id)
	}
	// The documents the rebuild wrote equal those the live projector wrote.
	for _, o := range before {
		old, ok := rawDocument[documents.Order](t, w, oldIndex, o.ID)
		require.True(t, ok)
		rebuilt, ok := rawDocument[documents.Order](t, w, res.Index, o.ID)
		require.True(t, ok)
		require.Equal(t, old, rebuilt, "order %s", o.ID)
	}
	require.Eventually(t, func() bool {
		r, err := w.orders.Search(ctx, query.OrderSearch{})
		return err == nil && r.Total == len(all)
	}, time.Minute, 50*time.Millisecond)

	// The old index is kept until dropped; the live one cannot be dropped.
	indexes, err := w.proj.Indexes(ctx, projections.Orders)
	require.NoError(t, err)
	require.Len(t, indexes, 2)
	require.Equal(t, res.Index, indexes[0].Name)
	require.True(t, indexes[0].Live)
	require.False(t, indexes[1].Live)
	require.ErrorIs(t, w.proj.DropIndex(ctx, projections.Orders, res.Index), projections.ErrIndexInUse)
	require.NoError(t, w.proj.DropIndex(ctx, projections.Orders, oldIndex))
	indexes, err = w.proj.Indexes(ctx, projections.Orders)
	require.NoError(t, err)
	require.Len(t, indexes, 1)

	state, err := w.proj.RebuildStatus(ctx, projections.Orders)
	require.NoError(t, err)
	require.Equal(t, "done", state.Phase)

	// Products and customers rebuild the same way.
	for _, n := range []projections.Name{projections.Products, projections.Customers} {
		_, err := w.proj.Rebuild(ctx, n, projections.RebuildOptions{})
		require.NoError(t, err)
	}
	for _, p := range products {
		// From the event store: the rebuilt read model must match it.
		agg, err := w.svc.Handlers().Products.Load(ctx, p.ID)
		require.NoError(t, err)
		want := app.ProductView(agg)
		require.Eventually(t, func() bool {
			got, err := w.products.Product(ctx, p.ID)
			return err == nil && got.Version == want.Version && got.Available == want.Available && got.Reserved == want.Reserved
		}, time.Minute, 20*time.Millisecond)
	}
	for _, c := range customers {
		agg, err := w.svc.Handlers().Customers.Load(ctx, c.ID)
		require.NoError(t, err)
		want := app.CustomerView(agg)
		require.Eventually(t, func() bool {
			got, err := w.customers.Customer(ctx, c.ID)
			return err == nil && got.Version == want.Version && got.Balance == want.Balance && got.Held == want.Held
		}, time.Minute, 20*time.Millisecond)
	}
}

func countStatus(orders []query.Order, s messages.OrderStatus) int {
	n := 0
	for _, o := range orders {
		if o.Status == s {
			n++
		}
	}
	return n
}

func ids(orders []query.Order) []string {
	out := make([]string, len(orders))
	for i, o := range orders {
		out[i] = o.ID
	}
	return out
}

func liveIndex(t *testing.T, w *world, n projections.Name) string {
	t.Helper()
	indexes, err := w.proj.Indexes(context.Background(), n)
	require.NoError(t, err)
	for _, ix := range indexes {
		if ix.Live {
			return ix.Name
		}
	}
	t.Fatalf("projection %s has no live index", n)
	return ""
}

// refreshInterval returns the refresh interval set on index, if one is.
func refreshInterval(t *testing.T, w *world, index string) (string, bool) {
	t.Helper()
	res, err := esapi.IndicesGetSettingsRequest{Index: []string{index}, Name: []string{"index.refresh_interval"}, FlatSettings: esapi.BoolPtr(true)}.Do(context.Background(), w.svc.Elastic)
	require.NoError(t, err)
	defer res.Body.Close()
	require.False(t, res.IsError(), res.String())
	var body map[string]struct {
		Settings map[string]string `json:"settings"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
	interval, set := body[index].Settings["index.refresh_interval"]
	return interval, set
}

// A rebuild that dies half way resumes from its recorded position into
// the same index, and ends with every stream projected.
func TestRebuildResumesAfterACrash(t *testing.T) {
	t.Parallel()
	w := setup(t, worldOptions{})
	gen := synthetic{prefix: "resume", orders: 400, customers: 20, products: 7}
	gen.generate(t, w.svc.Pools[config.Ordering])
	oldIndex := liveIndex(t, w, projections.Orders)

	ctx, crash := context.WithCancel(context.Background())
	_, err := w.proj.Rebuild(ctx, projections.Orders, projections.RebuildOptions{
		BatchSize: 100, ProgressInterval: time.Nanosecond,
		Progress: func(p projections.RebuildProgress) {
			if p.Position >= 500 {
				crash()
			}
		},
	})
	require.ErrorIs(t, err, context.Canceled)

	bg := context.Background()
	state, err := w.proj.RebuildStatus(bg, projections.Orders)
	require.NoError(t, err)
	require.Equal(t, "copying", state.Phase)
	require.GreaterOrEqual(t, state.Position, int64(500))
	require.Less(t, state.Position, int64(gen.events()))
	require.Equal(t, oldIndex, liveIndex(t, w, projections.Orders), "readers stay on the old index")
	status, err := w.proj.Status(bg)
	require.NoError(t, err)
	require.NotNil(t, status[0].Rebuild)
	require.Equal(t, state.Target, status[0].Rebuild.Target)

	var resumed []bool
	res, err := w.proj.Rebuild(bg, projections.Orders, projections.RebuildOptions{
		BatchSize: 100, ProgressInterval: time.Nanosecond,
		Progress: func(p projections.RebuildProgress) { resumed = append(resumed, p.Resumed) },
	})
	require.NoError(t, err)
	require.Equal(t, state.Target, res.Index, "the same index is filled further")
	require.Equal(t, int64(gen.events())-state.Position, res.Events, "only the rest is read again")
	require.NotContains(t, resumed, false)
	require.Equal(t, res.Index, liveIndex(t, w, projections.Orders))

	search, err := query.NewOrdersIndex(w.svc.Elastic, w.proj.Alias(projections.Orders)).Search(bg, query.OrderSearch{})
	require.NoError(t, err)
	require.Equal(t, gen.orders, search.Total)
	require.ElementsMatch(t, []query.FacetCount{{Value: "CONFIRMED", Count: 320}, {Value: "CANCELLED", Count: 80}}, search.StatusFacets)
	for _, i := range []int{0, 1, 63, 64, 199, 399} {
		id := gen.orderID(i)
		got, ok := rawDocument[documents.Order](t, w, res.Index, id)
		require.True(t, ok, id)
		c := query.Customer{Name: fmt.Sprintf("Customer %d", i%gen.customers), Email: fmt.Sprintf("customer%d@resume.example.com", i%gen.customers)}
		require.Equal(t, normalized(t, wantOrder(t, w.storeEvents(config.Ordering, id), c)), got, id)
	}
	state, err = w.proj.RebuildStatus(bg, projections.Orders)
	require.NoError(t, err)
	require.Equal(t, "done", state.Phase)
	require.Equal(t, oldIndex, state.Previous)
}

// A cancelled rebuild leaves its index for DropIndex; the next rebuild
// starts afresh into a new one.
func TestCancelledRebuildStartsAfresh(t *testing.T) {
	t.Parallel()
	w := setup(t, worldOptions{})
	gen := synthetic{prefix: "cancel", orders: 200, customers: 5, products: 3}
	gen.generate(t, w.svc.Pools[config.Ordering])

	ctx, crash := context.WithCancel(context.Background())
	_, err := w.proj.Rebuild(ctx, projections.Orders, projections.RebuildOptions{
		BatchSize: 50, ProgressInterval: time.Nanosecond,
		Progress: func(p projections.RebuildProgress) { crash() },
	})
	require.ErrorIs(t, err, context.Canceled)
	bg := context.Background()
	abandoned, err := w.proj.RebuildStatus(bg, projections.Orders)
	require.NoError(t, err)

	require.NoError(t, w.proj.CancelRebuild(bg, projections.Orders))
	state, err := w.proj.RebuildStatus(bg, projections.Orders)
	require.NoError(t, err)
	require.Equal(t, "cancelled", state.Phase)

	res, err := w.proj.Rebuild(bg, projections.Orders, projections.RebuildOptions{})
	require.NoError(t, err)
	require.NotEqual(t, abandoned.Target, res.Index)
	require.Equal(t, int64(gen.events()), res.Events)
	indexes, err := w.proj.Indexes(bg, projections.Orders)
	require.NoError(t, err)
	require.Len(t, indexes, 3, "the first index, the abandoned one and the new one")
	require.NoError(t, w.proj.DropIndex(bg, projections.Orders, abandoned.Target))
}
