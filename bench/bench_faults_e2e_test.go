package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/bench"
	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/command/domain/payments"
	"github.com/orderflow/orderflow/internal/deadletter"
	"github.com/orderflow/orderflow/internal/systemtest"
)

// The bench with payment faults injected (10% of authorizations failing
// transiently, 2% declined): every order ends final, every invariant
// holds, and the transient failures are retried without dead letters.
func TestBenchWithPaymentFaults(t *testing.T) {
	t.Parallel()
	sys := systemtest.Start(t, systemtest.Options{API: true, Service: []service.Option{
		service.WithPaymentProvider(&payments.FaultyProvider{Next: payments.BalanceProvider{}, TransientErrorRate: 0.1, RefusalRate: 0.02}),
	}})

	cfg := bench.DefaultConfig()
	cfg.URL, cfg.JWTSecret = sys.URL+"/graphql", sys.Env.Config.JWTSecret
	cfg.Rate, cfg.Duration = 20, 3*time.Second
	cfg.Products, cfg.Customers, cfg.PoorCustomers, cfg.ScarceStock = 5, 10, 2, 1
	cfg.SettleTimeout, cfg.IdempotencySample = time.Minute, 10
	cfg.Label = "payment faults"

	res, err := bench.Run(context.Background(), cfg, logWriter{t}, nil)
	require.NoError(t, err)
	require.True(t, res.Passed, "every invariant holds")
	require.Equal(t, int64(60), res.Counts.Placed)
	require.Equal(t, int64(60), res.Counts.Final)
	for _, inv := range res.Invariants {
		require.Positive(t, inv.Checked, inv.Name)
	}
	page, err := sys.Service.DeadLetterStore().List(context.Background(), deadletter.Filter{Status: deadletter.StatusDead}, 10, 0)
	require.NoError(t, err)
	require.Zero(t, page.Total, "transient provider failures are retried, not dead-lettered")
}
