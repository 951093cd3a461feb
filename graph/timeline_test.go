package graph_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/systemtest"
)

// An operator follows one order across the contexts with orderTimeline;
// a customer may not, and an unknown order is NOT_FOUND.
func TestOrderTimeline(t *testing.T) {
	t.Parallel()
	f := setupWith(t, systemtest.Options{API: true})
	mug := f.createProduct(t, "10.00", 5)
	c := f.registerCustomer(t, "100.00")
	token := f.token(t, c.ID, auth.RoleCustomer)
	placed := f.placeOrder(t, token, placeOrderInput("story-1", mug.ID, 1))

	const q = `query($id: ID!) { orderTimeline(orderId: $id) {
		orderId
		saga { phase outcome attempts deadline startedAt endedAt updatedAt failure compensations completedSteps }
		entries { at context kind name stream version id correlationId causationId traceId detail failure } } }`
	type entry struct {
		At                                time.Time
		Context, Kind, Name               string
		Stream, ID, CorrelationID, Detail *string
		Version                           *int
		CausationID, TraceID              *string
		Failure                           bool
	}
	var got struct {
		OrderTimeline struct {
			OrderID string
			Saga    *struct {
				Phase          string
				Outcome        *string
				EndedAt        *time.Time
				CompletedSteps []string
			}
			Entries []entry
		}
	}
	require.Eventually(t, func() bool {
		res := f.post(t, f.admin, q, map[string]any{"id": placed.ID})
		require.Empty(t, res.Errors)
		require.NoError(t, json.Unmarshal(res.Data, &got))
		s := got.OrderTimeline.Saga
		return s != nil && s.Outcome != nil && *s.Outcome == "confirmed"
	}, time.Minute, 50*time.Millisecond, "the saga confirms the order")

	tl := got.OrderTimeline
	require.Equal(t, placed.ID, tl.OrderID)
	require.Equal(t, "DONE", tl.Saga.Phase)
	require.NotNil(t, tl.Saga.EndedAt)
	contexts := map[string]bool{}
	for i, e := range tl.Entries {
		contexts[e.Context] = true
		if i > 0 {
			require.False(t, e.At.Before(tl.Entries[i-1].At), "time order")
		}
		if e.Kind == "event" {
			require.Equal(t, placed.ID, *e.CorrelationID)
			require.NotNil(t, e.CausationID)
			require.NotNil(t, e.Version)
			require.Nil(t, e.TraceID, "tracing is off")
		}
	}
	require.Equal(t, map[string]bool{"ordering": true, "inventory": true, "payments": true, "saga": true}, contexts)

	requireCode(t, f.post(t, token, q, map[string]any{"id": placed.ID}), "FORBIDDEN")
	requireCode(t, f.post(t, f.admin, q, map[string]any{"id": "no-such-order"}), "NOT_FOUND")
	requireCode(t, f.post(t, f.admin, q, map[string]any{"id": ""}), "INVALID_ORDER_DATA")
}
