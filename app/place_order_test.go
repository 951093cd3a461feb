package app_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/internal/systemtest"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/query"
)

// Two API processes (own executors, caches and stream locks) place one
// idempotency key 20 times at once. No worker runs: the placement is
// executed in the API process and needs no message handled elsewhere.
// One order is placed, with one OrderPlaced and one saga, and every retry
// answers the same order as recorded.
func TestPlacementIsIdempotentUnderConcurrentRetriesAcrossProcesses(t *testing.T) {
	t.Parallel()
	sys := systemtest.Start(t, systemtest.Options{NoWorker: true, NoProjector: true})
	ctx := context.Background()
	second := sys.Open().Application()
	apis := []app.Application{sys.App, second}

	p, err := sys.App.Commands.CreateProduct.Handle(ctx, systemtest.Admin, app.CreateProduct{SKU: "MUG", Name: "Mug", Price: 1250, InitialStock: 10})
	require.NoError(t, err)
	require.Equal(t, 10, p.Available, "answered from the handler's result")
	c, err := sys.App.Commands.RegisterCustomer.Handle(ctx, systemtest.Admin, app.RegisterCustomer{Email: "a@example.com", Name: "A", InitialCredit: 10000})
	require.NoError(t, err)

	const retries = 20
	answers := make([]query.Order, retries)
	errs := make([]error, retries)
	var wg sync.WaitGroup
	for i := range retries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], errs[i] = apis[i%len(apis)].Commands.PlaceOrder.Handle(ctx, systemtest.Admin, app.PlaceOrder{
				CustomerID:      c.ID,
				IdempotencyKey:  "same-key",
				Items:           []app.OrderItem{{ProductID: p.ID, Quantity: 2}},
				ShippingAddress: messages.Address{Street: "1 Main St", City: "Springfield", Zip: "12345", Country: "US"},
				PaymentMethod:   messages.PaymentMethod{Type: "card", Token: "tok_4242"},
			})
		}()
	}
	wg.Wait()

	for i := range retries {
		require.NoError(t, errs[i], "retry %d", i)
		require.Equal(t, answers[0], answers[i], "retry %d answers the same order", i)
	}
	placed := answers[0]
	require.Equal(t, app.OrderID(c.ID, "same-key"), placed.ID)
	require.Equal(t, messages.StatusPending, placed.Status)
	require.Equal(t, 1, placed.Version)
	require.Equal(t, 2, placed.Items[0].Quantity)

	var events, inbox int
	require.NoError(t, sys.Env.Pool.QueryRow(ctx, `SELECT count(*) FROM ordering.events WHERE stream_id = $1`, placed.ID).Scan(&events))
	require.Equal(t, 1, events, "one OrderPlaced")
	require.NoError(t, sys.Env.Pool.QueryRow(ctx, `SELECT count(*) FROM ordering.inbox WHERE stream_id = $1`, placed.ID).Scan(&inbox))
	require.Equal(t, 1, inbox, "one message handled")
	var sagas, processed int
	require.NoError(t, sys.Env.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM sagas.order_sagas WHERE order_id = $1), (SELECT cardinality(applied) FROM sagas.order_sagas WHERE order_id = $1)`, placed.ID).Scan(&sagas, &processed))
	require.Equal(t, 1, sagas, "one saga, started with the order")
	require.Equal(t, 1, processed, "OrderPlaced recorded once as processed")
}

// A placement the domain refuses records nothing, so the same key with
// corrected input places the order: the refusal is the caller's answer,
// not the key's.
func TestRefusedPlacementLeavesTheKeyFree(t *testing.T) {
	t.Parallel()
	sys, p, c := withCatalog(t)
	ctx := context.Background()
	in := app.PlaceOrder{
		CustomerID:      c.ID,
		IdempotencyKey:  "fix-and-retry",
		Items:           []app.OrderItem{{ProductID: p.ID, Quantity: 2}},
		ShippingAddress: messages.Address{Street: " ", City: "Springfield", Zip: "12345", Country: "US"},
		PaymentMethod:   messages.PaymentMethod{Type: "card", Token: "tok_4242"},
	}

	_, err := sys.App.Commands.PlaceOrder.Handle(ctx, systemtest.Admin, in)
	require.True(t, errcode.Is(err, errcode.InvalidOrderData), "got %v", err)
	require.Contains(t, err.Error(), "street")
	var rows int
	require.NoError(t, sys.Env.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM ordering.events) + (SELECT count(*) FROM ordering.inbox)`).Scan(&rows))
	require.Zero(t, rows, "nothing recorded")

	in.ShippingAddress.Street = "1 Main St"
	o, err := sys.App.Commands.PlaceOrder.Handle(ctx, systemtest.Admin, in)
	require.NoError(t, err)
	require.Equal(t, app.OrderID(c.ID, "fix-and-retry"), o.ID)
	require.Equal(t, 1, o.Version)
}

// A stated unit price is checked against the catalog: one that differs is
// refused naming the product and both prices, and records nothing; one
// that matches places the order at the catalog price.
func TestStatedUnitPriceMustBeTheCatalogPrice(t *testing.T) {
	t.Parallel()
	sys, p, c := withCatalog(t)
	ctx := context.Background()
	stated := money.Amount(1199)
	in := app.PlaceOrder{
		CustomerID:      c.ID,
		IdempotencyKey:  "priced",
		Items:           []app.OrderItem{{ProductID: p.ID, Quantity: 2, StatedUnitPrice: &stated}},
		ShippingAddress: messages.Address{Street: "1 Main St", City: "Springfield", Zip: "12345", Country: "US"},
		PaymentMethod:   messages.PaymentMethod{Type: "card", Token: "tok_4242"},
	}
	_, err := sys.App.Commands.PlaceOrder.Handle(ctx, systemtest.Admin, in)
	require.True(t, errcode.Is(err, errcode.InvalidOrderData), "got %v", err)
	var coded *errcode.Error
	require.ErrorAs(t, err, &coded)
	require.Contains(t, coded.Message, p.ID)
	require.Contains(t, coded.Message, "12.50")
	require.Contains(t, coded.Message, "11.99")
	require.Equal(t, "items[0].unitPrice", coded.Details["field"])
	require.Equal(t, "12.50", coded.Details["catalog_price"])
	require.Equal(t, "11.99", coded.Details["stated_price"])
	var rows int
	require.NoError(t, sys.Env.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM ordering.events) + (SELECT count(*) FROM ordering.inbox)`).Scan(&rows))
	require.Zero(t, rows, "nothing recorded")

	stated = 1250
	o, err := sys.App.Commands.PlaceOrder.Handle(ctx, systemtest.Admin, in)
	require.NoError(t, err)
	require.Equal(t, money.Amount(1250), o.Items[0].UnitPrice)
}
