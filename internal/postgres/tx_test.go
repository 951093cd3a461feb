package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
