package handlers_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/command/domain/inventory"
	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/internal/postgres"
	"github.com/orderflow/orderflow/internal/testenv"
	"github.com/orderflow/orderflow/messages"
)

// txFixture is two processes' command handlers (each with its own
// executors and caches) on one test database, without consumers.
type txFixture struct {
	env   *testenv.Env
	h, h2 *handlers.Handlers
}

func setupTx(t *testing.T) txFixture {
	t.Helper()
	env := testenv.New(t)
	open := func() *handlers.Handlers {
		svc, err := service.Open(context.Background(), env.Config, env.Logger)
		require.NoError(t, err)
		t.Cleanup(svc.Close)
		return svc.Handlers()
	}
	return txFixture{env: env, h: open(), h2: open()}
}

// product creates a product with 10 units through h (so h caches it at
// version 1) and returns its id.
func (f txFixture) product(t *testing.T) string {
	t.Helper()
	id := uuid.NewString()
	_, err := f.h.CreateProduct(context.Background(), handlers.Message{ID: uuid.NewString()},
		messages.CreateProduct{ProductID: id, SKU: "SKU-" + id, Name: "Mug", Price: 1250, InitialStock: 10}, handlers.With[*inventory.Product]{})
	require.NoError(t, err)
	return id
}

func restock(qty int) func(*inventory.Product) ([]messages.Event, error) {
	return func(p *inventory.Product) ([]messages.Event, error) { return p.Restock(qty) }
}

// inTx runs a restock of qty on productID with h's executor in tx.
func inTx(ctx context.Context, h *handlers.Handlers, tx *handlers.Tx, productID string, qty int) (handlers.Result, error) {
	return h.Products.ExecuteInTx(ctx, tx, handlers.Message{Handler: handlers.RestockProductHandler, ID: uuid.NewString()}, productID, restock(qty))
}

// viaAPI restocks qty units as the API does and returns the product as the
// command left it (the executor's cached aggregate, seen under its lock).
func viaAPI(ctx context.Context, h *handlers.Handlers, productID string, qty int) (handlers.Result, int, error) {
	var onHand int
	res, err := h.RestockProduct(ctx, handlers.Message{ID: uuid.NewString()}, messages.RestockProduct{ProductID: productID, Quantity: qty},
		handlers.With[*inventory.Product]{View: func(p *inventory.Product) { onHand = p.OnHand() }})
	return res, onHand, err
}

// waitForLockWaiter waits until a statement of the test database waits
// for a lock (an append blocked on another transaction's uncommitted
// event of the same version).
func (f txFixture) waitForLockWaiter(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool {
		var n int
		err := f.env.Pool.QueryRow(context.Background(),
			`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		require.NoError(t, err)
		return n > 0
	}, 10*time.Second, 10*time.Millisecond)
}

func TestInTxCommandsOnOneStreamSeeEachOther(t *testing.T) {
	t.Parallel()
	f := setupTx(t)
	ctx := context.Background()
	id := f.product(t)

	tx := handlers.WrapTx(postgres.Begin(f.h.Products.Store().Pool()))
	defer func() { _ = tx.Rollback(ctx) }()
	first, err := inTx(ctx, f.h, tx, id, 5)
	require.NoError(t, err)
	require.Equal(t, 2, first.Version)
	second, err := inTx(ctx, f.h, tx, id, 3)
	require.NoError(t, err)
	require.Equal(t, 3, second.Version, "the second command appends after the first")
	require.NoError(t, tx.Commit(ctx))

	// The API's next command decides on what the transaction left.
	res, onHand, err := viaAPI(ctx, f.h, id, 1)
	require.NoError(t, err)
	require.Equal(t, 4, res.Version)
	require.Equal(t, 19, onHand)
	p, err := f.h.Products.Load(ctx, id)
	require.NoError(t, err)
	require.Equal(t, 4, p.Version())
	require.Equal(t, 19, p.OnHand())
}

func TestRolledBackInTxCommandLeavesNoTraceInTheCache(t *testing.T) {
	t.Parallel()
	f := setupTx(t)
	ctx := context.Background()
	id := f.product(t)

	tx := handlers.WrapTx(postgres.Begin(f.h.Products.Store().Pool()))
	res, err := inTx(ctx, f.h, tx, id, 5)
	require.NoError(t, err)
	require.Equal(t, 2, res.Version)
	require.NoError(t, tx.Rollback(ctx))

	res, onHand, err := viaAPI(ctx, f.h, id, 1)
	require.NoError(t, err)
	require.Equal(t, 2, res.Version, "the rolled-back event is not in the cached product")
	require.Equal(t, 11, onHand)

	// Nor is a failed command's: an in-tx command on a stream whose next
	// version is taken fails, and the transaction gives nothing back.
	tx = handlers.WrapTx(postgres.Begin(f.h.Products.Store().Pool()))
	_, err = inTx(ctx, f.h, tx, id, 2)
	require.NoError(t, err)
	_, err = f.h.Products.ExecuteInTx(ctx, tx, handlers.Message{Handler: handlers.RestockProductHandler, ID: uuid.NewString()}, id,
		func(*inventory.Product) ([]messages.Event, error) { return nil, context.DeadlineExceeded })
	require.Error(t, err)
	require.NoError(t, tx.Commit(ctx)) // a caller ignoring the failure
	res, onHand, err = viaAPI(ctx, f.h, id, 1)
	require.NoError(t, err)
	require.Equal(t, 4, res.Version)
	require.Equal(t, 14, onHand)
}

func TestAPICommandAndInTxCommandOnOneStreamConcurrently(t *testing.T) {
	t.Parallel()
	f := setupTx(t)
	ctx := context.Background()
	id := f.product(t)

	tx := handlers.WrapTx(postgres.Begin(f.h.Products.Store().Pool()))
	defer func() { _ = tx.Rollback(ctx) }()
	res, err := inTx(ctx, f.h, tx, id, 5)
	require.NoError(t, err)
	require.Equal(t, 2, res.Version)

	// The API's command does not see the uncommitted restock: it appends
	// version 2 too and waits for the transaction, then meets the conflict
	// and decides again on the committed stream.
	type answer struct {
		res    handlers.Result
		onHand int
		err    error
	}
	done := make(chan answer, 1)
	go func() {
		res, onHand, err := viaAPI(ctx, f.h, id, 1)
		done <- answer{res, onHand, err}
	}()
	f.waitForLockWaiter(t)
	// A second in-tx command on the stream meanwhile neither waits for the
	// API's command nor sees its state.
	res, err = inTx(ctx, f.h, tx, id, 2)
	require.NoError(t, err)
	require.Equal(t, 3, res.Version)
	require.NoError(t, tx.Commit(ctx))

	a := <-done
	require.NoError(t, a.err)
	require.Equal(t, 4, a.res.Version)
	require.Equal(t, 18, a.onHand)
	res, onHand, err := viaAPI(ctx, f.h, id, 1)
	require.NoError(t, err)
	require.Equal(t, 5, res.Version)
	require.Equal(t, 19, onHand)
}

func TestStreamAdvancedByAnotherProcessIsCaught(t *testing.T) {
	t.Parallel()
	f := setupTx(t)
	ctx := context.Background()
	id := f.product(t) // cached by f.h at version 1

	// Another process appends: the cached product is behind, the
	// in-transaction command reads what it lacks.
	_, _, err := viaAPI(ctx, f.h2, id, 1)
	require.NoError(t, err)
	tx := handlers.WrapTx(postgres.Begin(f.h.Products.Store().Pool()))
	res, err := inTx(ctx, f.h, tx, id, 5)
	require.NoError(t, err)
	require.Equal(t, 3, res.Version)
	require.NoError(t, tx.Commit(ctx))

	// Another process appends at the same time: the in-transaction command
	// meets the conflict, its transaction rolls back, and the caller's
	// retry (the saga's message-level retry) decides on the new state.
	other := handlers.WrapTx(postgres.Begin(f.h2.Products.Store().Pool()))
	defer func() { _ = other.Rollback(ctx) }()
	res, err = inTx(ctx, f.h2, other, id, 100)
	require.NoError(t, err)
	require.Equal(t, 4, res.Version)
	failed := make(chan error, 1)
	go func() {
		tx := handlers.WrapTx(postgres.Begin(f.h.Products.Store().Pool()))
		defer func() { _ = tx.Rollback(ctx) }()
		_, err := inTx(ctx, f.h, tx, id, 7)
		failed <- err
	}()
	f.waitForLockWaiter(t)
	require.NoError(t, other.Commit(ctx))
	require.ErrorIs(t, <-failed, eventstore.ErrConcurrencyConflict)

	tx = handlers.WrapTx(postgres.Begin(f.h.Products.Store().Pool()))
	res, err = inTx(ctx, f.h, tx, id, 7)
	require.NoError(t, err)
	require.Equal(t, 5, res.Version)
	require.NoError(t, tx.Commit(ctx))
	res, onHand, err := viaAPI(ctx, f.h, id, 1)
	require.NoError(t, err)
	require.Equal(t, 6, res.Version)
	require.Equal(t, 10+1+5+100+7+1, onHand)
}

// An executor whose cache holds one stream evicts entries other commands
// hold: a second entry for the same stream lets two commands on it run at
// once, and the expected-version check turns that into a conflict the
// loser retries, so every command is applied exactly once.
func TestEvictingHeldCacheEntriesLosesNothing(t *testing.T) {
	t.Parallel()
	f := setupTx(t)
	ctx := context.Background()
	products := []string{f.product(t), f.product(t)}
	x := handlers.NewExecutorWithCacheSize(f.h.Products.Store(), handlers.ProductStream, func() *inventory.Product { return &inventory.Product{} }, 1)

	const workers, each = 6, 5
	errs := make(chan error, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				_, err := x.Execute(ctx, handlers.Message{Handler: handlers.RestockProductHandler, ID: uuid.NewString()}, products[(w+i)%2], restock(1))
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	total := 0
	for _, id := range products {
		p, err := f.h.Products.Load(ctx, id)
		require.NoError(t, err)
		require.Equal(t, p.Version()-1, p.OnHand()-10, "one event per unit restocked")
		total += p.OnHand() - 10
	}
	require.Equal(t, workers*each, total)
}

// The same message handled by two processes at once: the second one's
// claim in the inbox waits for the first transaction, then answers as a
// duplicate with the stream as the first left it.
func TestConcurrentDeliveryOfOneMessageWaitsAndAnswersAsDuplicate(t *testing.T) {
	t.Parallel()
	f := setupTx(t)
	ctx := context.Background()
	id := f.product(t)
	msg := handlers.Message{Handler: handlers.RestockProductHandler, ID: uuid.NewString()}

	tx := handlers.WrapTx(postgres.Begin(f.h.Products.Store().Pool()))
	defer func() { _ = tx.Rollback(ctx) }()
	res, err := f.h.Products.ExecuteInTx(ctx, tx, msg, id, restock(5))
	require.NoError(t, err)
	require.Equal(t, 2, res.Version)

	type answer struct {
		res    handlers.Result
		onHand int
		err    error
	}
	done := make(chan answer, 1)
	go func() {
		var onHand int
		res, err := f.h2.Products.ExecuteForCaller(ctx, msg, id, restock(5),
			handlers.With[*inventory.Product]{View: func(p *inventory.Product) { onHand = p.OnHand() }})
		done <- answer{res, onHand, err}
	}()
	f.waitForLockWaiter(t)
	require.NoError(t, tx.Commit(ctx))

	a := <-done
	require.NoError(t, a.err)
	require.True(t, a.res.Duplicate)
	require.Equal(t, 2, a.res.Version)
	require.Equal(t, 15, a.onHand, "the duplicate answers with the first handling's restock")
	p, err := f.h.Products.Load(ctx, id)
	require.NoError(t, err)
	require.Equal(t, 2, p.Version())
}

// A batch reads every stream it touches before its first write, so a
// version another process appends meanwhile is a conflict, never a later
// version appended under an older transaction id (which the relay, in
// transaction id order, would publish first).
func TestBatchReadsEveryStreamBeforeItsFirstWrite(t *testing.T) {
	t.Parallel()
	f := setupTx(t)
	ctx := context.Background()
	first, second := f.product(t), f.product(t)

	calls := []handlers.Call[*inventory.Product]{
		{Msg: handlers.Message{Handler: handlers.RestockProductHandler, ID: uuid.NewString()}, StreamID: first,
			Decide: func(p *inventory.Product) ([]messages.Event, error) {
				// The batch's transaction has its id (the claim): another
				// process appends to the second stream and commits now.
				_, _, err := viaAPI(ctx, f.h2, second, 1)
				require.NoError(t, err)
				return p.Restock(1)
			}},
		{Msg: handlers.Message{Handler: handlers.RestockProductHandler, ID: uuid.NewString()}, StreamID: second, Decide: restock(1)},
	}
	_, err := f.h.Products.ExecuteBatch(ctx, calls)
	require.ErrorIs(t, err, eventstore.ErrConcurrencyConflict)

	rows, err := f.env.Pool.Query(ctx, `SELECT transaction_id::text::bigint FROM inventory.events WHERE stream_id = $1 ORDER BY version`, second)
	require.NoError(t, err)
	xids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	require.Len(t, xids, 2)
	require.IsIncreasing(t, xids, "the second stream's versions in transaction id order")
}

// A transaction running commands on several streams (the saga's batch)
// reads them all before its first write (QueueReadsInTx); a stream
// another process appends to meanwhile fails the commit instead of
// getting a version the relay would publish first, and a command on a
// stream not read before the first write is refused, nothing written.
func TestInTxCommandsOnSeveralStreamsReadThemBeforeTheFirstWrite(t *testing.T) {
	t.Parallel()
	f := setupTx(t)
	ctx := context.Background()
	first, second, unread := f.product(t), f.product(t), f.product(t)

	tx := handlers.WrapTx(postgres.Begin(f.h.Products.Store().Pool()))
	defer func() { _ = tx.Rollback(ctx) }()
	b := &pgx.Batch{}
	apply := f.h.Products.QueueReadsInTx(tx, b, []string{first, second})
	require.NoError(t, tx.SendBatch(ctx, b).Close())
	require.NoError(t, apply())
	_, err := inTx(ctx, f.h, tx, first, 1)
	require.NoError(t, err)
	// The transaction has its id (the claim): another process appends to
	// the second stream and commits now.
	_, _, err = viaAPI(ctx, f.h2, second, 1)
	require.NoError(t, err)
	_, err = inTx(ctx, f.h, tx, second, 1)
	require.NoError(t, err, "read before: its write goes with the COMMIT")
	_, err = inTx(ctx, f.h, tx, unread, 1)
	require.ErrorContains(t, err, "not read before the transaction's first write")
	require.Error(t, tx.Commit(ctx), "the second stream moved: nothing commits")

	rows, err := f.env.Pool.Query(ctx, `SELECT transaction_id::text::bigint FROM inventory.events WHERE stream_id = $1 ORDER BY version`, second)
	require.NoError(t, err)
	xids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	require.Len(t, xids, 2, "the creation and the other process's restock")
	var n int
	require.NoError(t, f.env.Pool.QueryRow(ctx, `SELECT count(*) FROM inventory.events WHERE stream_id = ANY($1)`, []string{first, unread}).Scan(&n))
	require.Equal(t, 2, n, "the first and the unread stream hold only their creation")

	// Each again in a transaction of its own: the cache was not left with
	// what the failed transaction decided.
	for _, id := range []string{first, second, unread} {
		tx := handlers.WrapTx(postgres.Begin(f.h.Products.Store().Pool()))
		_, err := inTx(ctx, f.h, tx, id, 1)
		require.NoError(t, err)
		require.NoError(t, tx.Commit(ctx))
	}
	p, err := f.h.Products.Load(ctx, second)
	require.NoError(t, err)
	require.Equal(t, 3, p.Version())
}
