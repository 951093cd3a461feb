package graph_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/systemtest"
)

const allContextsQuery = `query($id: ID!) { orderEvents(orderId: $id, allContexts: true) { type version occurredAt data correlationId causationId context streamId } }`

// An admin reads an order's whole story: its own events and those of
// inventory and payments that name it (the reservation, the hold and
// their commit and capture), each with its context and stream, in the
// order they happened, all correlated with the order. A customer reads
// only the order's own events.
func TestOrderEventsOfEveryContext(t *testing.T) {
	t.Parallel()
	f := setupWith(t, systemtest.Options{API: true})
	mug := f.createProduct(t, "10.00", 5)
	c := f.registerCustomer(t, "100.00")
	token := f.token(t, c.ID, auth.RoleCustomer)
	placed := f.placeOrder(t, token, placeOrderInput("story", mug.ID, 1))

	type event struct {
		Type          string    `json:"type"`
		OccurredAt    time.Time `json:"occurredAt"`
		Data          string    `json:"data"`
		CorrelationID *string   `json:"correlationId"`
		Context       string    `json:"context"`
		StreamID      string    `json:"streamId"`
	}
	var events []event
	require.Eventually(t, func() bool {
		res := f.post(t, f.admin, allContextsQuery, map[string]any{"id": placed.ID})
		require.Empty(t, res.Errors)
		var data struct{ OrderEvents []event }
		require.NoError(t, json.Unmarshal(res.Data, &data))
		events = data.OrderEvents
		return slices.ContainsFunc(events, func(e event) bool { return e.Type == "ordering.OrderConfirmed" })
	}, 60*time.Second, 100*time.Millisecond, "the order is confirmed")

	contexts := map[string]string{}
	for i, e := range events {
		require.NotNil(t, e.CorrelationID, e.Type)
		require.Equal(t, placed.ID, *e.CorrelationID, "%s is correlated with the order", e.Type)
		require.Contains(t, e.Data, placed.ID, e.Type)
		if i > 0 {
			require.False(t, e.OccurredAt.Before(events[i-1].OccurredAt), "oldest first")
		}
		contexts[e.Context] = e.StreamID
	}
	require.Equal(t, map[string]string{"ordering": placed.ID, "inventory": mug.ID, "payments": c.ID}, contexts)
	require.Equal(t, "ordering.OrderPlaced", events[0].Type)

	own := f.orderEvents(t, token, placed.ID)
	require.Less(t, len(own), len(events))
	requireCode(t, f.post(t, token, allContextsQuery, map[string]any{"id": placed.ID}), "FORBIDDEN")

	// Another customer's order, or none at all, is NOT_FOUND: ids cannot
	// be probed.
	const ownQuery = `query($id: ID!) { orderEvents(orderId: $id) { type } }`
	other := f.token(t, f.registerCustomer(t, "1.00").ID, auth.RoleCustomer)
	requireCode(t, f.post(t, other, ownQuery, map[string]any{"id": placed.ID}), "NOT_FOUND")
	requireCode(t, f.post(t, token, ownQuery, map[string]any{"id": "00000000-0000-4000-8000-000000000000"}), "NOT_FOUND")
	requireCode(t, f.post(t, f.admin, allContextsQuery, map[string]any{"id": "00000000-0000-4000-8000-000000000000"}), "NOT_FOUND")
}
