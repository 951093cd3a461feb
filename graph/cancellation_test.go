package graph_test

import (
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/command/domain/payments"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/systemtest"
)

// A customer who cancels their own order reads it back CANCELLED without a
// failure: a failure's code is always one of the contract's, and a
// cancellation on request is no failure. (It used to read failure.code "".)
func TestCustomerCancellationHasNoFailure(t *testing.T) {
	t.Parallel()
	f := setupWith(t, systemtest.Options{API: true, Service: []service.Option{
		// A slow provider holds the saga before confirmation, so the
		// cancellation lands while the order is still open.
		service.WithPaymentProvider(&payments.FaultyProvider{Next: payments.BalanceProvider{}, Latency: 2 * time.Second}),
	}})
	mug := f.createProduct(t, "10.00", 5)
	c := f.registerCustomer(t, "100.00")
	token := f.token(t, c.ID, auth.RoleCustomer)
	placed := f.placeOrder(t, token, placeOrderInput("cancel-me", mug.ID, 1))

	var cancelled struct{ CancelOrder order }
	require.NoError(t, f.client(token).Post(`mutation($id: ID!) { cancelOrder(orderId: $id, reason: "changed my mind") { id } }`,
		&cancelled, client.Var("id", placed.ID)))

	var read struct{ Order order }
	require.Eventually(t, func() bool {
		err := f.client(token).Post(`query($id: ID!) { order(id: $id) { `+orderFields+` } }`, &read, client.Var("id", placed.ID))
		return err == nil && read.Order.Status == "CANCELLED"
	}, 60*time.Second, 50*time.Millisecond)
	require.Nil(t, read.Order.Failure)
	require.Empty(t, read.Order.PendingSteps)
}
