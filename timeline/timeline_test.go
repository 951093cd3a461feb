package timeline_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/internal/systemtest"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/sagas"
	"github.com/orderflow/orderflow/timeline"
)

func setup(t *testing.T) (*systemtest.System, *timeline.Reader) {
	t.Helper()
	sys := systemtest.Start(t, systemtest.Options{})
	return sys, timeline.NewReader(sys.Service.Pools)
}

func place(t *testing.T, sys *systemtest.System, credit money.Amount) (orderID, productID, customerID string) {
	t.Helper()
	ctx := context.Background()
	p, err := sys.App.Commands.CreateProduct.Handle(ctx, systemtest.Admin, app.CreateProduct{
		SKU: fmt.Sprintf("SKU-%d", rand.IntN(1e9)), Name: "Mug", Price: 12_50, InitialStock: 10,
	})
	require.NoError(t, err)
	c, err := sys.App.Commands.RegisterCustomer.Handle(ctx, systemtest.Admin, app.RegisterCustomer{
		Email: fmt.Sprintf("c%d@example.com", rand.IntN(1e9)), Name: "Customer", InitialCredit: credit,
	})
	require.NoError(t, err)
	o, err := sys.App.Commands.PlaceOrder.Handle(ctx, systemtest.Admin, app.PlaceOrder{
		CustomerID: c.ID, IdempotencyKey: "k", Items: []app.OrderItem{{ProductID: p.ID, Quantity: 2}},
		ShippingAddress: messages.Address{Street: "1 Main St", City: "Springfield", Zip: "12345", Country: "US"},
		PaymentMethod:   messages.PaymentMethod{Type: "card", Token: "tok_4242"},
	})
	require.NoError(t, err)
	return o.ID, p.ID, c.ID
}

// ended waits until the order's saga has ended and the order recorded
// final, and returns its story.
func ended(t *testing.T, r *timeline.Reader, orderID string, final string) timeline.Timeline {
	t.Helper()
	var tl timeline.Timeline
	require.Eventually(t, func() bool {
		var found bool
		var err error
		tl, found, err = r.Order(context.Background(), orderID)
		require.NoError(t, err)
		return found && tl.Saga != nil && !tl.Saga.EndedAt.IsZero() && slices.Contains(names(tl, "ordering", timeline.KindEvent), final)
	}, time.Minute, 50*time.Millisecond, "the saga of %s ends", orderID)
	return tl
}

func names(tl timeline.Timeline, context, kind string) []string {
	var out []string
	for _, e := range tl.Entries {
		if e.Context == context && e.Kind == kind {
			out = append(out, e.Name)
		}
	}
	return out
}

// An order the payment refuses: its story holds the events of all three
// contexts in time order, each correlated with the order, the refused
// authorization, the compensation, and the saga's end with its reason.
func TestACompensatedOrdersStory(t *testing.T) {
	t.Parallel()
	sys, r := setup(t)
	orderID, productID, customerID := place(t, sys, 1_00) // 25.00 due, 1.00 on the account

	tl := ended(t, r, orderID, "ordering.OrderCancelled")
	t.Logf("the story:\n%s", text(t, tl))
	require.Equal(t, orderID, tl.OrderID)
	require.True(t, slices.IsSortedFunc(tl.Entries, func(a, b timeline.Entry) int { return a.At.Compare(b.At) }), "time order")

	require.Equal(t, string(sagas.OutcomeCancelled), tl.Saga.Outcome)
	require.Equal(t, string(sagas.PhaseDone), tl.Saga.Phase)
	require.Contains(t, tl.Saga.Failure, "PAYMENT_FAILED")
	require.NotEmpty(t, tl.Saga.Compensations)

	require.Contains(t, names(tl, "ordering", timeline.KindEvent), "ordering.OrderPlaced")
	require.Contains(t, names(tl, "ordering", timeline.KindEvent), "ordering.OrderCancelled")
	require.Contains(t, names(tl, "inventory", timeline.KindEvent), "inventory.StockReserved")
	require.Contains(t, names(tl, "inventory", timeline.KindEvent), "inventory.StockReleased")
	require.Contains(t, names(tl, "saga", timeline.KindSaga), "saga started")
	require.Contains(t, names(tl, "saga", timeline.KindSaga), "saga ended cancelled")

	eventIDs := map[string]bool{}
	for _, e := range tl.Entries {
		if e.Kind != timeline.KindEvent {
			continue
		}
		eventIDs[e.ID] = true
		require.Equal(t, orderID, e.CorrelationID, "%s of %s is correlated with the order", e.Name, e.Context)
		require.NotEmpty(t, e.CausationID, "%s names what caused it", e.Name)
		require.NotEmpty(t, e.Detail)
		switch e.Context {
		case "inventory":
			require.Equal(t, productID, e.Stream)
		case "payments":
			require.Equal(t, customerID, e.Stream)
		}
	}
	// The saga applied the other contexts' events: each such entry names
	// an event of the story.
	applied := 0
	for _, e := range tl.Entries {
		if e.Name == "saga applied event" {
			applied++
			require.True(t, eventIDs[e.CausationID], "the saga applied event %s of the story", e.CausationID)
			require.Regexp(t, `^(ordering|inventory|payments)\.`, e.Detail, "named by its type")
		}
	}
	require.Positive(t, applied)

	// The commands the contexts handled for it, the refused one marked.
	commands := names(tl, "inventory", timeline.KindCommand)
	require.NotEmpty(t, commands, "inventory handled ReserveStock and ReleaseStock")
	refused := slices.ContainsFunc(tl.Entries, func(e timeline.Entry) bool {
		return e.Context == "payments" && e.Failure && (e.Kind == timeline.KindCommand || e.Kind == timeline.KindEvent)
	})
	require.True(t, refused, "the payment's refusal is in the story:\n%s", text(t, tl))

	out := text(t, tl)
	require.Contains(t, out, "order "+orderID)
	require.Contains(t, out, "outcome cancelled")
	require.Contains(t, out, "PAYMENT_FAILED")
	require.Contains(t, out, "StockReleased")
}

func TestAConfirmedOrdersStoryAndAnUnknownOrder(t *testing.T) {
	t.Parallel()
	sys, r := setup(t)
	orderID, _, _ := place(t, sys, 100_00)
	tl := ended(t, r, orderID, "ordering.OrderConfirmed")
	require.Equal(t, string(sagas.OutcomeConfirmed), tl.Saga.Outcome)
	require.Empty(t, tl.Saga.Failure)
	for _, want := range []struct{ context, name string }{
		{"ordering", "ordering.OrderConfirmed"}, {"inventory", "inventory.StockCommitted"}, {"payments", "payments.PaymentCaptured"},
	} {
		require.Contains(t, names(tl, want.context, timeline.KindEvent), want.name)
	}
	for _, e := range tl.Entries {
		require.False(t, e.Failure, "nothing failed: %+v", e)
	}

	_, found, err := r.Order(context.Background(), "no-such-order")
	require.NoError(t, err)
	require.False(t, found)
}

func text(t *testing.T, tl timeline.Timeline) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, tl.WriteText(&b))
	return b.String()
}
