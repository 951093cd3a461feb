package projections_test

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/internal/config"
	"github.com/orderflow/orderflow/internal/testenv"
	"github.com/orderflow/orderflow/projections"
)

var (
	benchEvents  = flag.Int("rebuild.events", 20000, "order events BenchmarkRebuildOrders generates (use 1000000 for the published figures)")
	benchWorkers = flag.Int("rebuild.workers", 0, "bulk requests in flight during BenchmarkRebuildOrders (0: the default)")
	benchBatch   = flag.Int("rebuild.batch", 0, "events per event store read during BenchmarkRebuildOrders (0: the default)")
)

// BenchmarkRebuildOrders times a full rebuild of the orders index from an
// event store holding -rebuild.events synthetic order events (inserted
// with SQL, 10k customers, 500 products), and reports events per second.
// Each iteration builds a fresh index and drops the one it replaced.
//
//	go test -run '^$' -bench BenchmarkRebuildOrders -benchtime 1x ./projections -args -rebuild.events=1000000
func BenchmarkRebuildOrders(b *testing.B) {
	env := testenv.New(b)
	ctx := context.Background()
	svc, err := service.Open(ctx, env.Config, env.Logger)
	require.NoError(b, err)
	b.Cleanup(svc.Close)

	gen := synthetic{prefix: "bench", orders: int(float64(*benchEvents)/3.6 + 0.5), customers: 10000, products: 500}
	start := time.Now()
	gen.generate(b, svc.Pools[config.Ordering])
	_, err = svc.Pools[config.Ordering].Exec(ctx, "ANALYZE ordering.events")
	require.NoError(b, err)
	b.Logf("generated %d order events (%d orders) in %s", gen.events(), gen.orders, time.Since(start).Round(time.Millisecond))

	cfg := projections.DefaultConfig(env.Config, svc.Elastic, svc.Pools, nil, env.Logger)
	cfg.AliasTTL, cfg.RebuildSettle = 50*time.Millisecond, 100*time.Millisecond
	proj, err := projections.New(cfg)
	require.NoError(b, err)
	require.NoError(b, proj.EnsureIndexes(ctx))

	b.ResetTimer()
	for b.Loop() {
		res, err := proj.Rebuild(ctx, projections.Orders, projections.RebuildOptions{
			Workers: *benchWorkers, BatchSize: *benchBatch, ProgressInterval: 10 * time.Second,
			Progress: func(p projections.RebuildProgress) {
				b.Logf("%s: position %d/%d, %.0f events/s, eta %s", p.Phase, p.Position, p.Head, p.Rate, p.ETA.Round(time.Second))
			},
		})
		require.NoError(b, err)
		require.Equal(b, int64(gen.events()), res.Events)
		b.ReportMetric(res.Rate, "events/s")
		b.ReportMetric(float64(res.Documents), "docs")
		b.Logf("rebuilt %d events into %d document writes in %s: %.0f events/s", res.Events, res.Documents, res.Duration.Round(time.Millisecond), res.Rate)
		require.NoError(b, proj.DropIndex(ctx, projections.Orders, res.Previous))
	}
}
