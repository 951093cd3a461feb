package sagas_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/internal/systemtest"
	"github.com/orderflow/orderflow/messages"
)

// shapeOrders is how many normal orders TestShapeOfNormalOrder places.
const shapeOrders = 40

// maxStreamRowsPerOrder bounds the order events read back from the order
// stream per normal order: the saga's in-transaction commands (mark the
// two steps, confirm) each read only what their cached aggregate lacks.
// While each of them loaded the stream from version 0 a normal order read
// about 9 rows.
const maxStreamRowsPerOrder = 4

// TestShapeOfNormalOrder places normal orders, waits for each to be
// CONFIRMED and counts what they cost PostgreSQL in the test's own
// database: transactions (pg_stat_database) and statements
// (pg_stat_statements, diffed between two snapshots of this database's
// rows, never reset: the server is shared). It logs the figures per order
// and the statements by calls (go test -v -run TestShapeOfNormalOrder
// ./sagas/) and checks that the saga does not read the order stream again
// for every command it runs on the order.
func TestShapeOfNormalOrder(t *testing.T) {
	t.Parallel()
	w := &world{System: systemtest.Start(t, systemtest.Options{}), t: t}
	ctx := context.Background()
	p := w.product(shapeOrders*2, money.Amount(100))
	customers := make([]string, shapeOrders)
	for i := range customers {
		customers[i] = w.customer(money.Amount(1000)).ID
	}
	// Let the set-up's events pass through relays and projections first.
	time.Sleep(2 * time.Second)

	before := statementStats(t, w.System)
	orderIDs := make([]string, shapeOrders)
	parallel(t, shapeOrders, 8, func(i int) error {
		o, err := w.App.Commands.PlaceOrder.Handle(ctx, admin, app.PlaceOrder{
			CustomerID:      customers[i],
			IdempotencyKey:  fmt.Sprintf("shape-%d", i),
			Items:           []app.OrderItem{{ProductID: p.ID, Quantity: 1}},
			ShippingAddress: messages.Address{Street: "1 Main St", City: "Springfield", Zip: "12345", Country: "US"},
			PaymentMethod:   messages.PaymentMethod{Type: "card", Token: "tok_4242"},
		})
		orderIDs[i] = o.ID
		return err
	})
	require.Eventually(t, func() bool {
		var done int
		err := w.Env.Pool.QueryRow(ctx, `SELECT count(*) FROM sagas.order_sagas WHERE phase = 'DONE' AND order_id = ANY($1) -- shape probe`, orderIDs).Scan(&done)
		require.NoError(t, err)
		return done == shapeOrders
	}, time.Minute, 100*time.Millisecond, "every saga finishes")
	// Let the last events pass through relays and projections.
	time.Sleep(2 * time.Second)
	after := statementStats(t, w.System)
	for _, id := range orderIDs {
		require.Equal(t, messages.StatusConfirmed, w.settled(id).Status, "order %s", id)
	}

	var calls, relayCalls, relayReads, relayCheckpoints, streamReads, streamRows int64
	var rows []statementStat
	for q, a := range after.statements {
		d := a.calls - before.statements[q].calls
		if d == 0 || strings.Contains(q, "shape probe") || strings.Contains(q, "pg_stat_") {
			continue
		}
		calls += d
		if strings.Contains(q, "relay_") { // the relays' reads and checkpoints
			relayCalls += d
			switch {
			case strings.Contains(q, "pg_snapshot_xmin"):
				relayReads += d
			case strings.Contains(q, "relay_checkpoints"):
				relayCheckpoints += d
			}
		}
		rows = append(rows, statementStat{query: q, calls: d, rows: a.rows - before.statements[q].rows, ms: a.ms - before.statements[q].ms})
		if strings.Contains(q, `FROM "ordering"."events"`) && strings.Contains(q, "stream_id = $1") && strings.Contains(q, "version >") {
			streamReads += d
			streamRows += a.rows - before.statements[q].rows
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].calls > rows[j].calls })
	n := float64(shapeOrders)
	commits := int64(0)
	for _, r := range rows {
		if r.query == "commit" {
			commits = r.calls
		}
	}
	// The relays' share depends on the load and on every other transaction
	// of the cluster (their horizon: while a transaction anywhere is open
	// they re-poll every 10 ms), so it is counted apart: each relay read is
	// a transaction of its own, which carries the checkpoint of the batch
	// before it, if any (a checkpoint is written on its own only when a
	// relay stops or blocks a stream). COMMIT counts the COMMITs that took
	// a round trip of their own: pg_stat_statements does not count a COMMIT
	// sent in a batch behind a transaction's last write
	// (postgres.ExecAtCommit; a prepared utility statement), so the
	// difference to the transactions ending in COMMIT is the round trips
	// that saved. The transactions (pg_stat_database) lag and undercount:
	// each backend flushes its counters at most once a second.
	t.Logf("per normal order (%d orders): %.1f transactions (lagging; %.1f separate COMMIT), %.1f statements (%.2f ms) of which %.1f the relays' (%.1f reads, %.1f checkpoints), %.1f order stream reads returning %.1f rows",
		shapeOrders, float64(after.commits-before.commits)/n, float64(commits)/n,
		float64(calls)/n, total(rows)/n, float64(relayCalls)/n, float64(relayReads)/n, float64(relayCheckpoints)/n,
		float64(streamReads)/n, float64(streamRows)/n)
	for _, r := range rows {
		t.Logf("%6.2f calls/order %6.2f rows/order %7.3f ms/order  %s", float64(r.calls)/n, float64(r.rows)/n, r.ms/n, strings.Join(strings.Fields(r.query), " "))
	}
	require.LessOrEqual(t, float64(streamRows)/n, float64(maxStreamRowsPerOrder), "order events read back per normal order")
}

type statementStat struct {
	query string
	calls int64
	rows  int64
	ms    float64
}

func total(stats []statementStat) float64 {
	var ms float64
	for _, st := range stats {
		ms += st.ms
	}
	return ms
}

type statementSnapshot struct {
	commits    int64
	statements map[string]statementStat
}

// statementStats snapshots the test database's committed transactions and
// its rows of pg_stat_statements.
func statementStats(t *testing.T, s *systemtest.System) statementSnapshot {
	t.Helper()
	ctx := context.Background()
	snap := statementSnapshot{statements: map[string]statementStat{}}
	// The view over the server's counters, in this test's own database.
	_, err := s.Env.Pool.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`)
	require.NoError(t, err)
	require.NoError(t, s.Env.Pool.QueryRow(ctx,
		`SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`).Scan(&snap.commits))
	rows, err := s.Env.Pool.Query(ctx, `SELECT query, sum(calls)::bigint, sum(rows)::bigint, sum(total_exec_time) FROM pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) GROUP BY query`)
	require.NoError(t, err, "pg_stat_statements must be loaded (shared_preload_libraries) on the test server")
	stats, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (statementStat, error) {
		var st statementStat
		return st, row.Scan(&st.query, &st.calls, &st.rows, &st.ms)
	})
	require.NoError(t, err)
	for _, st := range stats {
		snap.statements[st.query] = st
	}
	return snap
}
