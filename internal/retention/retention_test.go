package retention_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/deadletter"
	"github.com/orderflow/orderflow/internal/retention"
	"github.com/orderflow/orderflow/internal/testenv"
)

// Only what is resolved or handled and older than the window goes: open
// dead letters stay whatever their age, recent rows stay.
func TestPruneRemovesOnlyOldHandledRows(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := env.Pool.Exec(ctx, sql, args...)
		require.NoError(t, err)
	}
	old, recent := time.Now().Add(-30*24*time.Hour), time.Now().Add(-time.Hour)
	for _, schema := range []string{"ordering", "inventory", "payments"} {
		for _, at := range []time.Time{old, old, old, recent} {
			exec(`INSERT INTO `+schema+`.inbox (handler, message_id, stream_id, processed_at) VALUES ('h', $1, 's', $2)`, uuid.NewString(), at)
		}
	}
	for _, at := range []time.Time{old, recent} {
		exec(`INSERT INTO sagas.processed_events (event_id, order_id, processed_at) VALUES ($1, 'o', $2)`, uuid.New(), at)
	}
	store := deadletter.NewStore(env.Pool, env.Config.Namespace, nil)
	park := func() int64 {
		id := uuid.NewString()
		_, _, err := store.Park(ctx, deadletter.Message{Handler: "h", Key: "k-" + id, MessageID: id, Payload: []byte("x")}, deadletter.Permanent, errors.New("bad"), 1)
		require.NoError(t, err)
		page, err := store.List(ctx, deadletter.Filter{AggregateID: "k-" + id}, 1, 0)
		require.NoError(t, err)
		return page.Entries[0].ID
	}
	oldDiscarded, recentDiscarded, oldDead := park(), park(), park()
	require.NoError(t, store.Discard(ctx, oldDiscarded, "test", "ops"))
	require.NoError(t, store.Discard(ctx, recentDiscarded, "test", "ops"))
	exec(`UPDATE deadletters.messages SET resolved_at = $2 WHERE id = $1`, oldDiscarded, old)
	exec(`UPDATE deadletters.messages SET first_failed_at = $2 WHERE id = $1`, oldDead, old)

	var tables []retention.Table
	for _, name := range []string{"ordering.inbox", "inventory.inbox", "payments.inbox"} {
		tables = append(tables, retention.Table{Pool: env.Pool, Name: name, Column: "processed_at"})
	}
	tables = append(tables, retention.Table{Pool: env.Pool, Name: "sagas.processed_events", Column: "processed_at"})
	job := retention.New(retention.Config{Window: 7 * 24 * time.Hour, Batch: 2, Tables: tables, DeadLetters: store, Logger: env.Logger}, nil)
	pruned, err := job.Prune(ctx, time.Now().Add(-7*24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"deadletters.messages": 1, "ordering.inbox": 3, "inventory.inbox": 3, "payments.inbox": 3, "sagas.processed_events": 1}, pruned)

	count := func(sql string) int {
		var n int
		require.NoError(t, env.Pool.QueryRow(ctx, sql).Scan(&n))
		return n
	}
	require.Equal(t, 1, count(`SELECT count(*) FROM inventory.inbox`))
	require.Equal(t, 1, count(`SELECT count(*) FROM sagas.processed_events`))
	_, err = store.Get(ctx, oldDiscarded)
	require.Error(t, err)
	for _, id := range []int64{recentDiscarded, oldDead} {
		_, err := store.Get(ctx, id)
		require.NoError(t, err, "kept: %d", id)
	}
}
