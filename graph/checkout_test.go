package graph_test

import (
	"testing"
	"time"

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

// A stated unit price is checked against the catalog: equal, the order is
// placed; different, it is refused naming the product and both prices,
// and nothing is placed. An order answers when it should be final: its
// placement plus the measured (here the default) end-to-end time while it
// runs, when it became final once it is.
func TestStatedPriceAndEstimatedCompletion(t *testing.T) {
	t.Parallel()
	f := setupWith(t, systemtest.Options{API: true, NoProjector: true})
	mug := f.createProduct(t, "29.99", 10)
	c := f.registerCustomer(t, "500.00")
	token := f.token(t, c.ID, auth.RoleCustomer)

	stated := func(key, price string) map[string]any {
		in := placeOrderInput(key, mug.ID, 1)
		in["items"].([]map[string]any)[0]["unitPrice"] = price
		return in
	}
	res := f.post(t, token, checkoutMutation, map[string]any{"in": stated("stated-wrong", "19.99")})
	e := requireCode(t, res, "INVALID_ORDER_DATA")
	require.Equal(t, "items[0].unitPrice", e.Extensions["field"])
	require.Equal(t, mug.ID, e.Extensions["product_id"])
	require.Equal(t, "29.99", e.Extensions["catalog_price"])
	require.Equal(t, "19.99", e.Extensions["stated_price"])
	require.Contains(t, e.Message, "29.99")

	const withEstimate = `mutation($in: PlaceOrderInput!, $wait: String) {
		placeOrder(input: $in, waitForFinal: $wait) { stillRunning order { id status createdAt updatedAt estimatedCompletion items { unitPrice } } } }`
	type answer struct {
		PlaceOrder struct {
			StillRunning bool
			Order        struct {
				ID, Status                                string
				CreatedAt, UpdatedAt, EstimatedCompletion string
				Items                                     []struct{ UnitPrice string }
			}
		}
	}
	var final answer
	require.NoError(t, f.client(token).Post(withEstimate, &final, client.Var("in", stated("stated-right", "29.99")), client.Var("wait", "20s")))
	o := final.PlaceOrder.Order
	require.Equal(t, "CONFIRMED", o.Status)
	require.Equal(t, "29.99", o.Items[0].UnitPrice)
	require.True(t, at(t, o.EstimatedCompletion).Equal(at(t, o.UpdatedAt)), "a final order's estimate is when it became final: %v vs %v", o.EstimatedCompletion, o.UpdatedAt)

	// Without a wait the answer is the order just placed, still running:
	// the estimate lies ahead of its placement.
	var running answer
	require.NoError(t, f.client(token).Post(withEstimate, &running, client.Var("in", placeOrderInput("no-price-stated", mug.ID, 1))))
	o = running.PlaceOrder.Order
	require.Equal(t, "PENDING", o.Status)
	require.True(t, at(t, o.EstimatedCompletion).After(at(t, o.CreatedAt)), "estimate %v, placed %v", o.EstimatedCompletion, o.CreatedAt)
}

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return v
}
