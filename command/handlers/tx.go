package handlers

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Tx is a caller's transaction in which ExecuteInTx uses the executors'
// caches of aggregates, for a caller that runs several commands on the
// same aggregates transaction after transaction (the order saga).
//
// The executor cannot see a plain transaction commit, so the caller wraps
// its transaction in a Tx and commits or rolls back through it. An
// aggregate the first command in the transaction takes from the cache
// belongs to the transaction until it ends: later commands in it on the
// same stream decide on it (and see the events appended before them), and
// no other caller sees it, since its state includes uncommitted events.
// Once Commit succeeded the aggregates go back to the cache; after a
// rollback, a failed commit or any failed command in the transaction they
// are dropped, and the stream's next use loads it afresh. Taking and
// giving back never wait for a stream's lock (a stream busy in this
// process is loaded in the transaction instead, and its holder's state
// wins), so a transaction that touches several streams, or one that runs
// inside a command holding a stream's lock (the saga starting in the
// placement's transaction), cannot deadlock on them.
//
// Like pgx.Tx, a Tx is used by one goroutine at a time.
type Tx struct {
	pgx.Tx
	held   map[heldKey]any
	read   map[heldKey]bool // streams read in the transaction (see Executor.QueueReadsInTx)
	wrote  bool             // a command in the transaction wrote (its inbox claim)
	onEnd  []func()
	failed bool
	ended  bool
}

// heldKey is a stream of one executor.
type heldKey struct {
	executor any
	streamID string
}

// WrapTx returns tx as a Tx; commit and roll back through the result.
func WrapTx(tx pgx.Tx) *Tx {
	return &Tx{Tx: tx}
}

// Unwrap returns the transaction Tx wraps (for postgres.ExecAtCommit).
func (t *Tx) Unwrap() pgx.Tx {
	return t.Tx
}

// Commit commits the transaction; once it has, the aggregates its commands
// changed go back to their executors' caches.
func (t *Tx) Commit(ctx context.Context) error {
	err := t.Tx.Commit(ctx)
	t.end(err == nil)
	return err
}

// Rollback rolls the transaction back; the aggregates its commands took
// are dropped.
func (t *Tx) Rollback(ctx context.Context) error {
	err := t.Tx.Rollback(ctx)
	t.end(false)
	return err
}

func (t *Tx) end(committed bool) {
	if t.ended {
		return
	}
	t.ended = true
	if committed && !t.failed {
		for _, f := range t.onEnd {
			f()
		}
	}
	t.held, t.read, t.onEnd = nil, nil, nil
}

// markRead records that key's stream was read in the transaction, up to
// what its held aggregate holds.
func (t *Tx) markRead(key heldKey) {
	if t.read == nil {
		t.read = map[heldKey]bool{}
	}
	t.read[key] = true
}

// hold records agg as the transaction's state of key; giveBack runs once
// the transaction committed.
func (t *Tx) hold(key heldKey, agg any, giveBack func()) {
	if t.held == nil {
		t.held = map[heldKey]any{}
	}
	t.held[key] = agg
	t.onEnd = append(t.onEnd, giveBack)
}
