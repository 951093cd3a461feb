package sagas_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/internal/systemtest"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/query"
)

// One product with 100 units at 1.00; 1000 customers with 1.00 each; every
// customer places one single-unit order, in random order, all at once,
// through the real command path. Once the system settles exactly the first
// 100 reservations become sales: 100 CONFIRMED, 900 CANCELLED for
// INVENTORY_UNAVAILABLE, no stock left or held, 900.00 left on the
// accounts, every charged customer holding a confirmed order, no saga open.
// Checked twice: on the event stores (the source of truth) and on the
// Elasticsearch read models the API serves.
func TestConsistencyUnderContention(t *testing.T) {
	t.Parallel()
	const (
		units     = 100
		customers = 1000
		price     = money.Amount(100)
	)
	w := &world{System: systemtest.Start(t, systemtest.Options{}), t: t}
	ctx := context.Background()
	p := w.product(units, price)

	accounts := make([]query.Customer, customers)
	parallel(t, customers, 32, func(i int) error {
		c, err := w.App.Commands.RegisterCustomer.Handle(ctx, admin, app.RegisterCustomer{
			Email: fmt.Sprintf("c%d@example.com", i), Name: fmt.Sprintf("Customer %d", i), InitialCredit: price,
		})
		accounts[i] = c
		return err
	})

	rnd := rand.New(rand.NewPCG(7, 11))
	buyers := rnd.Perm(customers)
	orderIDs := make([]string, customers)
	parallel(t, customers, 64, func(i int) error {
		c := accounts[buyers[i]]
		o, err := w.App.Commands.PlaceOrder.Handle(ctx, admin, app.PlaceOrder{
			CustomerID:      c.ID,
			IdempotencyKey:  "consistency",
			Items:           []app.OrderItem{{ProductID: p.ID, Quantity: 1}},
			ShippingAddress: messages.Address{Street: "1 Main St", City: "Springfield", Zip: "12345", Country: "US"},
			PaymentMethod:   messages.PaymentMethod{Type: "card", Token: "tok_4242"},
		})
		orderIDs[i] = o.ID
		return err
	})

	require.Eventually(t, func() bool {
		var open, total int
		err := w.Env.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE phase NOT IN ('DONE', 'PARKED')), count(*) FROM sagas.order_sagas`).Scan(&open, &total)
		require.NoError(t, err)
		return total == customers && open == 0
	}, 3*time.Minute, 200*time.Millisecond, "every saga finishes")

	confirmedBy := map[string]int{}
	status := map[messages.OrderStatus]int{}
	for _, id := range orderIDs {
		o := w.order(id)
		status[o.Status]++
		switch o.Status {
		case messages.StatusConfirmed:
			confirmedBy[o.CustomerID]++
		case messages.StatusCancelled:
			require.Equal(t, errcode.InventoryUnavailable, o.Failure.Code)
		}
	}
	require.Equal(t, map[messages.OrderStatus]int{messages.StatusConfirmed: units, messages.StatusCancelled: customers - units}, status)

	stock := w.stock(p.ID)
	require.Zero(t, stock.Available)
	require.Zero(t, stock.Reserved)

	var sum money.Amount
	for _, a := range accounts {
		acct := w.account(a.ID)
		require.Zero(t, acct.Held)
		sum += acct.Balance
		if acct.Balance < price {
			require.Equal(t, 1, confirmedBy[a.ID], "customer %s was charged, so holds exactly one confirmed order", a.ID)
		}
	}
	require.Equal(t, money.Amount((customers-units)*int(price)), sum)

	// The read models say the same once the projector caught up.
	require.Eventually(t, func() bool {
		res, err := w.App.Queries.SearchOrders.Handle(ctx, admin, query.OrderSearch{ProductID: p.ID, First: 1})
		require.NoError(t, err)
		byStatus := map[string]int{}
		for _, f := range res.StatusFacets {
			byStatus[f.Value] = f.Count
		}
		return res.Total == customers && byStatus["CONFIRMED"] == units && byStatus["CANCELLED"] == customers-units
	}, time.Minute, 250*time.Millisecond, "search facets show 100 CONFIRMED and 900 CANCELLED")
	for _, id := range orderIDs {
		o, err := w.App.Queries.Order.Handle(ctx, admin, id, 0)
		require.NoError(t, err)
		require.Equal(t, w.order(id).Status, o.Status, "read model of order %s", id)
	}
	require.Eventually(t, func() bool {
		doc, err := w.App.Queries.Product.Handle(ctx, admin, p.ID)
		require.NoError(t, err)
		return doc.Available == 0 && doc.Reserved == 0 && doc.Version == w.stock(p.ID).Version
	}, time.Minute, 100*time.Millisecond, "the product document shows 0 available and 0 reserved")
}

// parallel runs fn(0..n-1) on workers goroutines and fails on any error.
func parallel(t *testing.T, n, workers int, fn func(i int) error) {
	t.Helper()
	jobs := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := fn(i); err != nil {
					errs <- fmt.Errorf("job %d: %w", i, err)
				}
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}
