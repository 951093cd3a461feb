package handlers

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// PlacementHook is what a caller adds to the transaction that records an
// order's placement (With.InTx), given what the placement appended: the
// order saga starts there (sagas.Processor), so the order and its saga
// commit together or not at all. The func it returns, if any, runs once
// they committed (the saga sends its first commands). The command side
// owns the transaction, so the application passes the hook on without
// ever seeing one.
type PlacementHook interface {
	StartInTx(ctx context.Context, tx pgx.Tx, placement Result) (committed func(), err error)
}
