package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/postgres"
	"github.com/orderflow/orderflow/internal/testenv"
)

// A transaction whose BEGIN went with its first batch is one transaction:
// the batch's and the later statements' writes commit together, or roll
// back together, and the first batch's results are its own.
func TestTxBeginsWithItsFirstBatch(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	_, err := env.Pool.Exec(ctx, `CREATE TABLE lazy_tx (id int PRIMARY KEY)`)
	require.NoError(t, err)
	count := func() (n int) {
		require.NoError(t, env.Pool.QueryRow(ctx, `SELECT count(*) FROM lazy_tx`).Scan(&n))
		return n
	}

	write := func(ids ...int) *postgres.Tx {
		tx := postgres.Begin(env.Pool)
		b := &pgx.Batch{}
		var first, later string
		b.Queue(`SELECT pg_current_xact_id()::text`).QueryRow(func(row pgx.Row) error { return row.Scan(&first) })
		b.Queue(`INSERT INTO lazy_tx VALUES ($1)`, ids[0])
		require.NoError(t, tx.SendBatch(ctx, b).Close())
		for _, id := range ids[1:] {
			_, err := tx.Exec(ctx, `INSERT INTO lazy_tx VALUES ($1)`, id)
			require.NoError(t, err)
		}
		require.NoError(t, tx.QueryRow(ctx, `SELECT pg_current_xact_id()::text`).Scan(&later))
		require.Equal(t, first, later, "the first batch and the later statements are one transaction")
		return tx
	}

	tx := write(1, 2)
	require.Equal(t, 0, count(), "nothing visible before the commit")
	require.NoError(t, tx.Commit(ctx))
	require.Equal(t, 2, count())
	require.ErrorIs(t, tx.Rollback(ctx), pgx.ErrTxClosed, "a deferred rollback after the commit does nothing")

	tx = write(3, 4)
	require.NoError(t, tx.Rollback(ctx))
	require.Equal(t, 2, count(), "a rollback undoes the first batch too")

	// A failing statement in the first batch fails the transaction: its
	// commit rolls back, and the connection serves the next one.
	tx = postgres.Begin(env.Pool)
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO lazy_tx VALUES (5)`)
	b.Queue(`INSERT INTO lazy_tx VALUES (1)`)
	var pgErr *pgconn.PgError
	require.True(t, errors.As(tx.SendBatch(ctx, b).Close(), &pgErr))
	require.Equal(t, "23505", pgErr.Code)
	require.ErrorIs(t, tx.Commit(ctx), pgx.ErrTxCommitRollback)
	require.Equal(t, 2, count())

	// A transaction that ran nothing commits without a word.
	tx = postgres.Begin(env.Pool)
	require.NoError(t, tx.Commit(ctx))

	// A first plain statement begins on its own.
	tx = postgres.Begin(env.Pool)
	var started time.Time
	require.NoError(t, tx.QueryRow(ctx, `SELECT now()`).Scan(&started))
	_, err = tx.Exec(ctx, `INSERT INTO lazy_tx VALUES (6)`)
	require.NoError(t, err)
	var same bool
	require.NoError(t, tx.QueryRow(ctx, `SELECT now() = $1`, started).Scan(&same))
	require.True(t, same, "one transaction")
	require.NoError(t, tx.Rollback(ctx))
	require.Equal(t, 2, count())
	require.Zero(t, env.Pool.Stat().AcquiredConns(), "every connection went back to the pool")
}

// wrapped is a transaction wrapping another, as handlers.Tx does.
type wrapped struct{ pgx.Tx }

func (w wrapped) Unwrap() pgx.Tx { return w.Tx }

// A transaction's last write goes with its COMMIT: one round trip fewer,
// and the same all-or-nothing. A failing last write fails the commit and
// leaves nothing of the transaction committed.
func TestTxSendsItsLastWriteWithCommit(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	_, err := env.Pool.Exec(ctx, `CREATE TABLE last_write (id int PRIMARY KEY)`)
	require.NoError(t, err)
	cfg := env.Pool.Config().Copy()
	cfg.MaxConns = 1 // one connection: every transaction below reuses it
	trips := &testenv.RoundTrips{}
	cfg.ConnConfig.Tracer = trips
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	count := func() (n int) {
		require.NoError(t, env.Pool.QueryRow(ctx, `SELECT count(*) FROM last_write`).Scan(&n))
		return n
	}
	// measured runs fn in a transaction whose first batch locks and reads
	// (as the saga's does) and commits it, and returns its round trips
	// (the second of two runs, so its statements are prepared).
	measured := func(fn func(tx *postgres.Tx, id int) error, ids ...int) int64 {
		var n int64
		for _, id := range ids {
			before := trips.Trips.Load()
			tx := postgres.Begin(pool)
			b := &pgx.Batch{}
			b.Queue(`SELECT pg_advisory_xact_lock(42)`)
			b.Queue(`SELECT count(*) FROM last_write`)
			require.NoError(t, tx.SendBatch(ctx, b).Close())
			require.NoError(t, fn(tx, id))
			require.NoError(t, tx.Commit(ctx))
			require.ErrorIs(t, tx.Rollback(ctx), pgx.ErrTxClosed, "a deferred rollback after the commit does nothing")
			n = trips.Trips.Load() - before
		}
		return n
	}
	separate := measured(func(tx *postgres.Tx, id int) error {
		_, err := tx.Exec(ctx, `INSERT INTO last_write VALUES ($1)`, id)
		return err
	}, 1, 2)
	withCommit := measured(func(tx *postgres.Tx, id int) error {
		return postgres.ExecAtCommit(ctx, wrapped{tx}, `INSERT INTO last_write VALUES ($1)`, id)
	}, 3, 4)
	require.Equal(t, int64(3), separate, "BEGIN with the first batch, the write, COMMIT")
	require.Equal(t, int64(2), withCommit, "BEGIN with the first batch, the write with COMMIT")
	require.Equal(t, 4, count())

	// A transaction whose only statement goes with COMMIT is one round
	// trip: BEGIN, the statement, COMMIT.
	before := trips.Trips.Load()
	tx := postgres.Begin(pool)
	tx.ExecAtCommit(`INSERT INTO last_write VALUES ($1)`, 5)
	require.NoError(t, tx.Commit(ctx))
	require.Equal(t, int64(1), trips.Trips.Load()-before)
	require.Equal(t, 5, count())

	// A last write that fails: PostgreSQL skips the rest of the round trip,
	// COMMIT too. Commit returns the write's error and nothing of the
	// transaction is committed; the connection, rolled back, is reused.
	conns := pool.Stat().NewConnsCount()
	tx = postgres.Begin(pool)
	_, err = tx.Exec(ctx, `INSERT INTO last_write VALUES (6)`)
	require.NoError(t, err)
	tx.ExecAtCommit(`INSERT INTO last_write VALUES (7)`)
	tx.ExecAtCommit(`INSERT INTO last_write VALUES (1)`) // taken
	tx.ExecAtCommit(`INSERT INTO last_write VALUES (8)`)
	var pgErr *pgconn.PgError
	err = tx.Commit(ctx)
	require.ErrorAs(t, err, &pgErr)
	require.Equal(t, "23505", pgErr.Code)
	require.ErrorIs(t, err, postgres.ErrNotCommitted, "known to be rolled back")
	require.ErrorIs(t, tx.Rollback(ctx), pgx.ErrTxClosed)
	require.Equal(t, 5, count(), "nothing of the failed transaction is committed")
	var status string
	require.NoError(t, pool.QueryRow(ctx, `SELECT 'idle'`).Scan(&status))
	require.Equal(t, conns, pool.Stat().NewConnsCount(), "the connection went back to the pool, usable")

	// A transaction that failed before: its last write fails too.
	tx = postgres.Begin(pool)
	_, err = tx.Exec(ctx, `INSERT INTO last_write VALUES (1)`)
	require.ErrorAs(t, err, &pgErr)
	tx.ExecAtCommit(`INSERT INTO last_write VALUES (9)`)
	err = tx.Commit(ctx)
	require.ErrorAs(t, err, &pgErr)
	require.Equal(t, "25P02", pgErr.Code, "in failed transaction")
	require.ErrorIs(t, err, postgres.ErrNotCommitted)
	require.Equal(t, 5, count())

	// Rolled back, the queued statements never run.
	tx = postgres.Begin(pool)
	_, err = tx.Exec(ctx, `INSERT INTO last_write VALUES (10)`)
	require.NoError(t, err)
	tx.ExecAtCommit(`INSERT INTO last_write VALUES (11)`)
	require.NoError(t, tx.Rollback(ctx))
	require.Equal(t, 5, count())

	// In any other transaction the last write runs at once.
	plain, err := pool.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, postgres.ExecAtCommit(ctx, plain, `INSERT INTO last_write VALUES (12)`))
	var seen bool
	require.NoError(t, plain.QueryRow(ctx, `SELECT EXISTS (SELECT FROM last_write WHERE id = 12)`).Scan(&seen))
	require.True(t, seen)
	require.NoError(t, plain.Commit(ctx))
	require.Equal(t, 6, count())
	require.Zero(t, pool.Stat().AcquiredConns(), "every connection went back to the pool")
	require.Equal(t, conns, pool.Stat().NewConnsCount(), "and none was closed")
}
