package graph_test

import (
	"testing"

	"github.com/99designs/gqlgen/client"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/systemtest"
)

const checkoutMutation = `mutation($in: PlaceOrderInput!, $wait: String) {
	placeOrder(input: $in, waitForFinal: $wait) { sagaId stillRunning order { ` + orderFields + ` } } }`

type checkoutPayload struct {
	PlaceOrder struct {
		SagaID       string `json:"sagaId"`
		StillRunning bool   `json:"stillRunning"`
		Order        order  `json:"order"`
	}
}

// A synchronous checkout answers with the final order; a retry with the
// same key answers the same final order.
func TestSynchronousCheckoutAnswersTheFinalOrder(t *testing.T) {
	t.Parallel()
	f := setupWith(t, systemtest.Options{API: true, NoProjector: true})
	mug := f.createProduct(t, "29.99", 10)
	c := f.registerCustomer(t, "500.00")
	token := f.token(t, c.ID, auth.RoleCustomer)

	var first, again checkoutPayload
	in := placeOrderInput("sync-1", mug.ID, 2)
	require.NoError(t, f.client(token).Post(checkoutMutation, &first, client.Var("in", in), client.Var("wait", "20s")))
	require.False(t, first.PlaceOrder.StillRunning)
	require.Equal(t, "CONFIRMED", first.PlaceOrder.Order.Status)
	require.NoError(t, f.client(token).Post(checkoutMutation, &again, client.Var("in", in), client.Var("wait", "20s")))
	require.Equal(t, first.PlaceOrder.Order.ID, again.PlaceOrder.Order.ID)
	require.Equal(t, "CONFIRMED", again.PlaceOrder.Order.Status)
}

// When the wait ends first, the answer is the order as it stands, flagged
// still running; a wait out of bounds is refused before anything is placed.
func TestSynchronousCheckoutThatRunsOutOfTime(t *testing.T) {
	t.Parallel()
	f := setup(t) // no saga: the order stays PENDING
	mug := f.createProduct(t, "29.99", 10)
	c := f.registerCustomer(t, "500.00")
	token := f.token(t, c.ID, auth.RoleCustomer)

	var resp checkoutPayload
	require.NoError(t, f.client(token).Post(checkoutMutation, &resp, client.Var("in", placeOrderInput("sync-2", mug.ID, 1)), client.Var("wait", "300ms")))
	require.True(t, resp.PlaceOrder.StillRunning)
	require.Equal(t, "PENDING", resp.PlaceOrder.Order.Status)

	for _, bad := range []string{"forever", "-1s", "0s", "31s"} {
		r := f.post(t, token, checkoutMutation, map[string]any{"in": placeOrderInput("sync-bad", mug.ID, 1), "wait": bad})
		require.NotEmpty(t, r.Errors, bad)
		require.Equal(t, "INVALID_ORDER_DATA", r.Errors[0].Extensions["code"], bad)
		require.Equal(t, "waitForFinal", r.Errors[0].Extensions["field"], bad)
	}
}
