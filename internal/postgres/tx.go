package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Tx is a transaction of a pool that begins with its first statement:
// pgxpool's Begin is a round trip of its own, while a transaction whose
// first statement is a batch (the command executor's reads, the saga's
// lock and load) sends BEGIN in front of that batch (pgx's
// Batch.BeginTx). A first Exec, Query or QueryRow begins on its own, as
// usual. No connection is taken until then, and a transaction that ran
// nothing commits without a word. Tx is a pgx.Tx for code that takes one;
// like pgx's, it is used by one goroutine at a time.
type Tx struct {
	pool   *pgxpool.Pool
	tx     pgx.Tx // nil until the first statement
	closed bool
}

var _ pgx.Tx = (*Tx)(nil)

// Begin returns a transaction of pool that begins with its first
// statement. Commit or Rollback ends it and returns its connection.
func Begin(pool *pgxpool.Pool) *Tx {
	return &Tx{pool: pool}
}

// begun begins the transaction on its own, unless it has begun.
func (t *Tx) begun(ctx context.Context) (pgx.Tx, error) {
	if t.closed {
		return nil, pgx.ErrTxClosed
	}
	if t.tx == nil {
		tx, err := t.pool.Begin(ctx)
		if err != nil {
			return nil, fmt.Errorf("begin transaction: %w", err)
		}
		t.tx = tx
	}
	return t.tx, nil
}

// SendBatch sends b in the transaction; as its first statement, with
// BEGIN in front of it. The results are b's alone.
func (t *Tx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if t.closed {
		return pgx.FailedBatchResults(b, pgx.ErrTxClosed)
	}
	if t.tx != nil {
		return t.tx.SendBatch(ctx, b)
	}
	withBegin := &pgx.Batch{}
	withBegin.BeginTx(pgx.TxOptions{})
	withBegin.QueuedQueries = append(withBegin.QueuedQueries, b.QueuedQueries...)
	br := t.pool.SendBatch(ctx, withBegin)
	t.tx = br.Tx()
	if _, err := br.Exec(); err != nil { // BEGIN's result
		_ = br.Close()
		return pgx.FailedBatchResults(b, fmt.Errorf("begin transaction: %w", err))
	}
	return br
}

// Commit commits the transaction and returns its connection to the pool.
func (t *Tx) Commit(ctx context.Context) error {
	if t.closed {
		return pgx.ErrTxClosed
	}
	t.closed = true
	if t.tx == nil {
		return nil
	}
	return t.tx.Commit(ctx)
}

// Rollback rolls the transaction back and returns its connection to the
// pool; after Commit it does nothing and returns pgx.ErrTxClosed, so it
// can be deferred.
func (t *Tx) Rollback(ctx context.Context) error {
	if t.closed {
		return pgx.ErrTxClosed
	}
	t.closed = true
	if t.tx == nil {
		return nil
	}
	return t.tx.Rollback(ctx)
}

// Begin starts a pseudo nested transaction (a savepoint).
func (t *Tx) Begin(ctx context.Context) (pgx.Tx, error) {
	tx, err := t.begun(ctx)
	if err != nil {
		return nil, err
	}
	return tx.Begin(ctx)
}

// Exec runs sql in the transaction.
func (t *Tx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tx, err := t.begun(ctx)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	return tx.Exec(ctx, sql, args...)
}

// Query runs sql in the transaction.
func (t *Tx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	tx, err := t.begun(ctx)
	if err != nil {
		return nil, err
	}
	return tx.Query(ctx, sql, args...)
}

// QueryRow runs sql in the transaction.
func (t *Tx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	tx, err := t.begun(ctx)
	if err != nil {
		return failedRow{err}
	}
	return tx.QueryRow(ctx, sql, args...)
}

// CopyFrom copies rows in the transaction.
func (t *Tx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	tx, err := t.begun(ctx)
	if err != nil {
		return 0, err
	}
	return tx.CopyFrom(ctx, table, columns, src)
}

// Prepare prepares a statement on the transaction's connection.
func (t *Tx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	tx, err := t.begun(ctx)
	if err != nil {
		return nil, err
	}
	return tx.Prepare(ctx, name, sql)
}

// LargeObjects are those of the transaction once it has begun (the zero
// value, whose methods fail, before).
func (t *Tx) LargeObjects() pgx.LargeObjects {
	if t.tx == nil {
		return pgx.LargeObjects{}
	}
	return t.tx.LargeObjects()
}

// Conn is the transaction's connection once it has begun (nil before).
func (t *Tx) Conn() *pgx.Conn {
	if t.tx == nil {
		return nil
	}
	return t.tx.Conn()
}

// failedRow answers Scan with the error that kept its query from running.
type failedRow struct{ err error }

func (f failedRow) Scan(...any) error { return f.err }
