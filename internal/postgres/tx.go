package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

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
// nothing commits without a word. A transaction's last writes can travel
// with its COMMIT (ExecAtCommit), saving their round trip. Tx is a pgx.Tx
// for code that takes one; like pgx's, it is used by one goroutine at a
// time.
type Tx struct {
	pool   *pgxpool.Pool
	conn   *pgxpool.Conn // nil until the first statement
	tx     pgx.Tx        // on conn
	closed bool
	// atCommit are the statements Commit sends before COMMIT.
	atCommit []*pgx.QueuedQuery
}

var _ pgx.Tx = (*Tx)(nil)

// rollbackTimeout bounds the rollback after a statement sent with COMMIT
// failed.
const rollbackTimeout = 5 * time.Second

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
		conn, err := t.pool.Acquire(ctx)
		if err != nil {
			return nil, fmt.Errorf("begin transaction: %w", err)
		}
		tx, err := conn.Begin(ctx)
		if err != nil {
			conn.Release()
			return nil, fmt.Errorf("begin transaction: %w", err)
		}
		t.conn, t.tx = conn, tx
	}
	return t.tx, nil
}

// release returns the connection to the pool (which closes it unless it
// is idle, outside a transaction).
func (t *Tx) release() {
	if t.conn != nil {
		t.conn.Release()
		t.conn = nil
	}
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
	conn, err := t.pool.Acquire(ctx)
	if err != nil {
		return pgx.FailedBatchResults(b, fmt.Errorf("begin transaction: %w", err))
	}
	withBegin := &pgx.Batch{}
	withBegin.BeginTx(pgx.TxOptions{})
	withBegin.QueuedQueries = append(withBegin.QueuedQueries, b.QueuedQueries...)
	br := conn.SendBatch(ctx, withBegin)
	t.conn, t.tx = conn, br.Tx()
	if _, err := br.Exec(); err != nil { // BEGIN's result
		_ = br.Close()
		return pgx.FailedBatchResults(b, fmt.Errorf("begin transaction: %w", err))
	}
	return br
}

// ExecAtCommit queues sql to run when the transaction commits, in the
// same round trip as COMMIT (with BEGIN too, if nothing ran before it).
// It is for a transaction's last writes, whose results it does not read:
// a queued statement runs after every statement sent meanwhile. Its error
// is Commit's, and then nothing of the transaction is committed.
func (t *Tx) ExecAtCommit(sql string, args ...any) {
	t.atCommit = append(t.atCommit, &pgx.QueuedQuery{SQL: sql, Arguments: args})
}

// QueueAtCommit queues b's statements, with their result callbacks (see
// pgx.QueuedQuery), to run when the transaction commits, as ExecAtCommit
// does. A callback's error is Commit's too, but it cannot stop the COMMIT
// in the same round trip: only a failing statement does. Commit wraps
// ErrNotCommitted into the error when it knows nothing was committed.
func (t *Tx) QueueAtCommit(b *pgx.Batch) {
	t.atCommit = append(t.atCommit, b.QueuedQueries...)
}

// ErrNotCommitted marks a Commit error after which the transaction is
// known to be rolled back: a statement sent with COMMIT failed, so
// PostgreSQL skipped the COMMIT. Any other Commit error may leave the
// outcome unknown.
var ErrNotCommitted = errors.New("transaction rolled back")

// ExecAtCommit runs sql in tx as its last write: with tx's COMMIT if tx is
// a *Tx, or wraps one (AtCommit), see Tx.ExecAtCommit; in any other
// transaction now.
func ExecAtCommit(ctx context.Context, tx pgx.Tx, sql string, args ...any) error {
	if t, ok := AtCommit(tx); ok {
		t.ExecAtCommit(sql, args...)
		return nil
	}
	_, err := tx.Exec(ctx, sql, args...)
	return err
}

// AtCommit returns the *Tx that tx is or wraps (Unwrap() pgx.Tx), whose
// COMMIT can carry writes; ok is false for any other transaction.
func AtCommit(tx pgx.Tx) (t *Tx, ok bool) {
	for {
		switch v := tx.(type) {
		case *Tx:
			return v, true
		case interface{ Unwrap() pgx.Tx }:
			tx = v.Unwrap()
		default:
			return nil, false
		}
	}
}

// Commit commits the transaction and returns its connection to the pool.
// The statements queued by ExecAtCommit go with COMMIT, in one round trip;
// if one fails, PostgreSQL skips the rest of the round trip (COMMIT too),
// the transaction is rolled back and Commit returns that statement's
// error.
func (t *Tx) Commit(ctx context.Context) error {
	if t.closed {
		return pgx.ErrTxClosed
	}
	t.closed = true
	defer t.release()
	if len(t.atCommit) > 0 {
		return t.commitWith(ctx)
	}
	if t.tx == nil {
		return nil
	}
	return t.tx.Commit(ctx)
}

// commitWith sends the queued statements and COMMIT in one round trip (and
// BEGIN in front of them if the transaction has not begun), on the
// transaction's connection. The pgx transaction on it is left behind: its
// COMMIT went in the batch, and the connection goes back to the pool.
func (t *Tx) commitWith(ctx context.Context) error {
	b := &pgx.Batch{}
	switch {
	case t.tx != nil && t.conn.Conn().PgConn().TxStatus() == 'I':
		// Its BEGIN failed: the queued statements must not commit alone.
		return errors.New("commit: the transaction is not open, its BEGIN failed")
	case t.tx == nil:
		conn, err := t.pool.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("begin transaction: %w", err)
		}
		t.conn = conn
		b.Queue("begin")
	}
	b.QueuedQueries = append(b.QueuedQueries, t.atCommit...)
	b.Queue("commit").Exec(func(tag pgconn.CommandTag) error {
		if tag.String() == "ROLLBACK" { // an earlier statement of the transaction failed
			return pgx.ErrTxCommitRollback
		}
		return nil
	})
	err := t.conn.SendBatch(ctx, b).Close()
	if errors.Is(err, pgx.ErrTxCommitRollback) {
		err = fmt.Errorf("%w: %w", ErrNotCommitted, err)
	}
	if t.conn.Conn().PgConn().TxStatus() != 'I' && !t.conn.Conn().IsClosed() {
		err = fmt.Errorf("%w: %w", ErrNotCommitted, err)
		// A statement failed and PostgreSQL skipped the rest, COMMIT
		// included: the transaction is open and failed. A connection
		// whose rollback fails is closed, not pooled.
		rbCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		if _, rbErr := t.conn.Exec(rbCtx, "rollback"); rbErr != nil {
			_ = t.conn.Conn().Close(rbCtx)
		}
	}
	return err
}

// Rollback rolls the transaction back and returns its connection to the
// pool; after Commit it does nothing and returns pgx.ErrTxClosed, so it
// can be deferred.
func (t *Tx) Rollback(ctx context.Context) error {
	if t.closed {
		return pgx.ErrTxClosed
	}
	t.closed = true
	defer t.release()
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
