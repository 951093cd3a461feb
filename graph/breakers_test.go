package graph_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/command/domain/payments"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/systemtest"
)

// downProvider is a payment provider that fails every call while down.
type downProvider struct{ down atomic.Bool }

func (p *downProvider) Authorize(ctx context.Context, req payments.Authorization) (payments.Answer, error) {
	if p.down.Load() {
		return payments.Answer{}, payments.ErrProviderUnavailable
	}
	return payments.BalanceProvider{}.Authorize(ctx, req)
}

// Operators see each breaker of the process: the payment provider's opens
// while the provider fails every call (the process's worker authorizes the
// order's payment through it) and closes after; Elasticsearch's stays
// closed. Customers may not look.
func TestCircuitBreakers(t *testing.T) {
	t.Parallel()
	provider := &downProvider{}
	provider.down.Store(true)
	f := setupWith(t, systemtest.Options{API: true, NoProjector: true, Service: []service.Option{service.WithPaymentProvider(provider)}})
	const q = `{ circuitBreakers { name state consecutiveFailures since lastFailureAt } }`
	type cb struct {
		Name, State         string
		ConsecutiveFailures int
		Since               time.Time
		LastFailureAt       *time.Time
	}
	read := func() map[string]cb {
		res := f.post(t, f.admin, q, nil)
		require.Empty(t, res.Errors)
		var data struct{ CircuitBreakers []cb }
		require.NoError(t, json.Unmarshal(res.Data, &data))
		out := map[string]cb{}
		for _, b := range data.CircuitBreakers {
			out[b.Name] = b
		}
		return out
	}
	start := time.Now()
	before := read()
	require.Len(t, before, 2)
	require.Equal(t, "CLOSED", before["elasticsearch"].State)
	require.Equal(t, "CLOSED", before["payment_provider"].State)
	require.Nil(t, before["payment_provider"].LastFailureAt)

	p, c := f.createProduct(t, "1.00", 5), f.registerCustomer(t, "100.00")
	in := placeOrderInput(uuid.NewString(), p.ID, 1)
	in["customerId"] = c.ID
	f.placeOrder(t, f.admin, in)
	var open cb
	require.Eventually(t, func() bool {
		open = read()["payment_provider"]
		return open.State == "OPEN"
	}, time.Minute, 50*time.Millisecond, "the payment provider's breaker opens")
	require.NotNil(t, open.LastFailureAt)
	require.True(t, open.LastFailureAt.After(start.Add(-time.Second)))
	require.True(t, open.Since.After(start.Add(-time.Second)), "open since it tripped")
	require.Equal(t, "CLOSED", read()["elasticsearch"].State)

	provider.down.Store(false)
	require.Eventually(t, func() bool {
		b := read()["payment_provider"]
		return b.State == "CLOSED" && b.ConsecutiveFailures == 0
	}, time.Minute, 100*time.Millisecond, "closed again once the provider answers")

	customer := f.token(t, uuid.NewString(), auth.RoleCustomer)
	requireCode(t, f.post(t, customer, q, nil), "FORBIDDEN")
	requireCode(t, f.post(t, "", q, nil), "UNAUTHENTICATED")
}
