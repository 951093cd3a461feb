package bench_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/bench"
	"github.com/orderflow/orderflow/internal/systemtest"
)

// setup runs a whole orderflow on the test's own database, topics and
// indexes — relays, command handlers, the saga, the projector and the API —
// and returns the URL of its /graphql endpoint and the JWT secret it accepts.
func setup(t *testing.T) (url, secret string) {
	t.Helper()
	sys := systemtest.Start(t, systemtest.Options{API: true})
	return sys.URL + "/graphql", sys.Env.Config.JWTSecret
}

// logWriter sends the progress lines to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// A short, small run against the real system: every order ends as its
// scenario says and every invariant holds. It follows the orders over
// websocket subscriptions, so it covers both e2e modes: until the server
// streams orderStatusChanged, every subscription fails and the order is
// polled instead.
func TestBenchAgainstRunningSystem(t *testing.T) {
	t.Parallel()
	url, secret := setup(t)

	cfg := bench.DefaultConfig()
	cfg.URL, cfg.JWTSecret = url, secret
	cfg.Rate, cfg.Duration = 20, 3*time.Second
	cfg.Products, cfg.Customers, cfg.PoorCustomers, cfg.ScarceStock = 5, 10, 2, 1
	cfg.SettleTimeout, cfg.IdempotencySample = time.Minute, 10
	cfg.Label, cfg.E2E = "e2e test", bench.E2ESubscription

	res, err := bench.Run(context.Background(), cfg, logWriter{t}, nil)
	require.NoError(t, err)
	var table bytes.Buffer
	require.NoError(t, res.WriteTable(&table))
	t.Log("\n" + table.String())

	require.True(t, res.Passed, "every invariant holds")
	require.Equal(t, int64(60), res.Counts.Sent)
	require.Equal(t, int64(60), res.Counts.Placed)
	require.Equal(t, int64(60), res.Counts.Final)
	require.Equal(t, map[string]int64{"CONFIRMED": 48}, res.Outcomes[bench.Normal])
	require.Equal(t, map[string]int64{"CONFIRMED": 3}, res.Outcomes[bench.MultiLine])
	require.Equal(t, map[string]int64{"CANCELLED/PAYMENT_FAILED": 3}, res.Outcomes[bench.InsufficientFunds])
	require.Equal(t, map[string]int64{"CONFIRMED": 1, "CANCELLED/INVENTORY_UNAVAILABLE": 2}, res.Outcomes[bench.OutOfStock],
		"the one scarce unit sells once")
	var cancelled int64
	for outcome, n := range res.Outcomes[bench.Cancel] {
		require.Contains(t, []string{"CANCELLED", "CONFIRMED"}, outcome, "a cancellation either wins or comes too late")
		cancelled += n
	}
	require.Equal(t, int64(3), cancelled)
	require.Equal(t, int64(60), res.Latency[0].Count, "placement latency of every order")
	require.Equal(t, "e2e seen (all)", res.Latency[2].Name)
	require.Equal(t, int64(60), res.Latency[2].Count, "e2e latency of every order")
	require.Equal(t, "e2e committed (all)", res.Latency[3].Name)
	require.Equal(t, int64(60), res.Latency[3].Count, "commit time of every final event")
	require.LessOrEqual(t, res.Latency[3].P50, res.Latency[2].P50, "an order is seen final after it became final")
	for _, inv := range res.Invariants {
		require.Positive(t, inv.Checked, inv.Name)
	}
	require.Zero(t, res.Counts.Unknown+res.Counts.Refused+res.Counts.Dropped)

}
