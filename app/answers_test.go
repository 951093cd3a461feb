package app_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/internal/systemtest"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/query"
)

// A mutation answers with the fields a query of the same order returns:
// the customer's name and email, whether a cancellation was requested, the
// compensations. Only the timeline (which needs the events' ids) is the
// read model's alone. No worker runs, so the order stays where the API
// left it while the projector catches up.
func TestMutationAnswersCarryWhatQueriesShow(t *testing.T) {
	t.Parallel()
	sys := systemtest.Start(t, systemtest.Options{NoWorker: true})
	ctx := context.Background()
	p, err := sys.App.Commands.CreateProduct.Handle(ctx, systemtest.Admin, app.CreateProduct{SKU: "MUG", Name: "Mug", Price: 1250, InitialStock: 10})
	require.NoError(t, err)
	c, err := sys.App.Commands.RegisterCustomer.Handle(ctx, systemtest.Admin, app.RegisterCustomer{Email: "rita@example.com", Name: "Rita Rich", InitialCredit: 10000})
	require.NoError(t, err)

	placed, err := sys.App.Commands.PlaceOrder.Handle(ctx, systemtest.Admin, app.PlaceOrder{
		CustomerID: c.ID, IdempotencyKey: "answers", Items: []app.OrderItem{{ProductID: p.ID, Quantity: 1}},
		ShippingAddress: messages.Address{Street: "1 Main St", City: "Springfield", Zip: "12345", Country: "US"},
		PaymentMethod:   messages.PaymentMethod{Type: "card", Token: "tok_4242"},
	})
	require.NoError(t, err)
	require.Equal(t, "Rita Rich", placed.CustomerName)
	require.Equal(t, "rita@example.com", placed.CustomerEmail)
	require.False(t, placed.CancellationRequested)
	requireSameAsQuery(t, sys, placed)

	cancelled, err := sys.App.Commands.CancelOrder.Handle(ctx, systemtest.Admin, placed.ID, "changed my mind")
	require.NoError(t, err)
	require.True(t, cancelled.CancellationRequested)
	require.Equal(t, "Rita Rich", cancelled.CustomerName)
	requireSameAsQuery(t, sys, cancelled)
}

// requireSameAsQuery compares an answer with the read model at its
// version, on every field both have (the timeline is the read model's).
func requireSameAsQuery(t *testing.T, sys *systemtest.System, answer query.Order) {
	t.Helper()
	read, err := sys.App.Queries.Order.Handle(context.Background(), systemtest.Admin, answer.ID, answer.Version)
	require.NoError(t, err)
	require.NotEmpty(t, read.Timeline)
	read.Timeline = nil
	require.Equal(t, read, answer)
}
