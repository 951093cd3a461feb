package eventstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/testenv"
	"github.com/orderflow/orderflow/messages"
)

// setup returns an inventory event store in the test's own database.
func setup(t testing.TB) (*eventstore.Store, *testenv.Env) {
	t.Helper()
	env := testenv.New(t)
	return eventstore.New(env.Pool, "inventory"), env
}

// appendTx appends events in a transaction of its own and commits it.
func appendTx(ctx context.Context, store *eventstore.Store, streamID string, expected int, meta eventstore.Metadata, events ...messages.Event) ([]eventstore.Record, error) {
	tx, err := store.Pool().Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	recs, err := store.Append(ctx, tx, streamID, "Product", expected, meta, events...)
	if err != nil {
		return nil, err
	}
	return recs, tx.Commit(ctx)
}

func newProductID() string { return "product-" + uuid.NewString() }

func created(id string) messages.ProductCreated {
	return messages.ProductCreated{ProductID: id, SKU: "SKU-" + id[len(id)-6:], Name: "Lamp", Price: 1999, InitialStock: 5}
}

func restocked(id string, qty int) messages.ProductRestocked {
	return messages.ProductRestocked{ProductID: id, Quantity: qty}
}

func TestAppendThenReadStream(t *testing.T) {
	t.Parallel()
	store, _ := setup(t)
	ctx := t.Context()
	id := newProductID()

	first, err := appendTx(ctx, store, id, 0, eventstore.Metadata{}, created(id), restocked(id, 3))
	require.NoError(t, err)
	require.Len(t, first, 2)
	second, err := appendTx(ctx, store, id, 2, eventstore.Metadata{}, restocked(id, 4))
	require.NoError(t, err)

	got, err := store.ReadStream(ctx, store.Pool(), id, 0)
	require.NoError(t, err)
	require.Len(t, got, 3)
	for i, r := range got {
		require.Equal(t, i+1, r.Version)
		require.Equal(t, id, r.StreamID)
		require.Equal(t, "Product", r.StreamType)
		require.NotZero(t, r.Position)
		require.NotZero(t, r.TransactionID)
		require.WithinDuration(t, time.Now(), r.CreatedAt, time.Minute)
	}
	// What Append returned is what was stored.
	for i, r := range append(first, second...) {
		require.Equal(t, r.EventID, got[i].EventID)
		require.Equal(t, r.Position, got[i].Position)
		require.Equal(t, r.TransactionID, got[i].TransactionID)
	}
	require.Equal(t, first[0].TransactionID, first[1].TransactionID, "one append, one transaction")
	require.Less(t, first[1].TransactionID, second[0].TransactionID, "a later append has a later transaction id")

	events := make([]messages.Event, len(got))
	for i, r := range got {
		events[i], err = r.Decode()
		require.NoError(t, err)
	}
	require.Equal(t, []messages.Event{created(id), restocked(id, 3), restocked(id, 4)}, events)

	tail, err := store.ReadStream(ctx, store.Pool(), id, 2)
	require.NoError(t, err)
	require.Len(t, tail, 1)
	require.Equal(t, 3, tail[0].Version)

	version, err := store.StreamVersion(ctx, store.Pool(), id)
	require.NoError(t, err)
	require.Equal(t, 3, version)

	none, err := store.ReadStream(ctx, store.Pool(), newProductID(), 0)
	require.NoError(t, err)
	require.Empty(t, none)
}

// Two writers decide on the same state (version 1) at once: one appends
// version 2, the other gets a ConflictError that says what happened.
func TestConcurrentAppendsAtSameVersionConflict(t *testing.T) {
	t.Parallel()
	store, _ := setup(t)
	ctx := t.Context()
	id := newProductID()
	_, err := appendTx(ctx, store, id, 0, eventstore.Metadata{}, created(id))
	require.NoError(t, err)

	// Both transactions insert before either commits, so the loser waits on
	// the winner's row and fails when it commits.
	txs := make([]pgx.Tx, 2)
	for i := range txs {
		txs[i], err = store.Pool().Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = txs[i].Rollback(context.Background()) }()
	}
	_, err = store.Append(ctx, txs[0], id, "Product", 1, eventstore.Metadata{}, restocked(id, 1))
	require.NoError(t, err)
	loser := make(chan error, 1)
	go func() {
		_, err := store.Append(ctx, txs[1], id, "Product", 1, eventstore.Metadata{}, restocked(id, 2))
		loser <- err
	}()
	require.NoError(t, txs[0].Commit(ctx))
	err = <-loser

	require.Error(t, err)
	require.ErrorIs(t, err, eventstore.ErrConcurrencyConflict)
	var conflict *eventstore.ConflictError
	require.ErrorAs(t, err, &conflict)
	require.Equal(t, eventstore.ConflictError{StreamID: id, Expected: 1, Actual: 2}, *conflict)
	require.Contains(t, err.Error(), id)
	require.Contains(t, err.Error(), "expected version 1")
	require.Contains(t, err.Error(), "stream is at 2")

	got, err := store.ReadStream(ctx, store.Pool(), id, 0)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, restocked(id, 1).EventType(), got[1].EventType)
	require.JSONEq(t, `{"productId":"`+id+`","quantity":1}`, string(got[1].Data), "the winner's event is stored")
}

// Many writers race for the same versions with their own transactions:
// exactly one wins each version, every loser sees ErrConcurrencyConflict,
// and the stream has no gaps.
func TestRacingWritersEachVersionWonOnce(t *testing.T) {
	t.Parallel()
	store, _ := setup(t)
	ctx := t.Context()
	id := newProductID()
	_, err := appendTx(ctx, store, id, 0, eventstore.Metadata{}, created(id))
	require.NoError(t, err)

	const writers, rounds = 4, 5
	for round := range rounds {
		expected := round + 1
		var wg sync.WaitGroup
		errs := make([]error, writers)
		start := make(chan struct{})
		for w := range writers {
			wg.Go(func() {
				<-start
				_, errs[w] = appendTx(ctx, store, id, expected, eventstore.Metadata{}, restocked(id, w+1))
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
				continue
			}
			require.ErrorIs(t, err, eventstore.ErrConcurrencyConflict)
		}
		require.Equal(t, 1, wins, "round %d", round)
	}
	version, err := store.StreamVersion(ctx, store.Pool(), id)
	require.NoError(t, err)
	require.Equal(t, 1+rounds, version)
}

func TestReadAllReturnsEveryStreamInPositionOrder(t *testing.T) {
	t.Parallel()
	store, _ := setup(t)
	ctx := t.Context()

	var appended []eventstore.Record
	ids := []string{newProductID(), newProductID(), newProductID()}
	for round := range 3 {
		for _, id := range ids {
			var events []messages.Event
			if round == 0 {
				events = append(events, created(id))
			}
			events = append(events, restocked(id, round+1))
			recs, err := appendTx(ctx, store, id, len(eventsOf(appended, id)), eventstore.Metadata{}, events...)
			require.NoError(t, err)
			appended = append(appended, recs...)
		}
	}

	all, err := store.ReadAll(ctx, 0, 100)
	require.NoError(t, err)
	require.Len(t, all, len(appended))
	for i, r := range all {
		require.Equal(t, appended[i].EventID, r.EventID, "event %d", i)
		if i > 0 {
			require.Greater(t, r.Position, all[i-1].Position)
		}
	}

	// Paging by position sees the same sequence.
	var paged []eventstore.Record
	var after int64
	for {
		page, err := store.ReadAll(ctx, after, 4)
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		require.LessOrEqual(t, len(page), 4)
		paged = append(paged, page...)
		after = page[len(page)-1].Position
	}
	require.Equal(t, all, paged)
}

func eventsOf(recs []eventstore.Record, streamID string) []eventstore.Record {
	var out []eventstore.Record
	for _, r := range recs {
		if r.StreamID == streamID {
			out = append(out, r)
		}
	}
	return out
}

func TestMetadataRoundTrip(t *testing.T) {
	t.Parallel()
	store, _ := setup(t)
	ctx := t.Context()
	id := newProductID()
	meta := eventstore.Metadata{
		CorrelationID: "order-42",
		CausationID:   "command-7",
		Extra:         map[string]string{"user": "alice", "trace": "abc"},
	}
	recs, err := appendTx(ctx, store, id, 0, meta, created(id), restocked(id, 1))
	require.NoError(t, err)

	bare := newProductID()
	_, err = appendTx(ctx, store, bare, 0, eventstore.Metadata{}, created(bare))
	require.NoError(t, err)

	got, err := store.ReadStream(ctx, store.Pool(), id, 0)
	require.NoError(t, err)
	require.Len(t, got, 2)
	for i, r := range got {
		require.Equal(t, "order-42", r.CorrelationID)
		require.Equal(t, "command-7", r.CausationID)
		require.Equal(t, meta.Extra, r.Metadata)
		require.Equal(t, recs[i].Metadata, r.Metadata)
	}

	// No metadata reads back as empty, not as the string "null".
	plain, err := store.ReadStream(ctx, store.Pool(), bare, 0)
	require.NoError(t, err)
	require.Len(t, plain, 1)
	require.Empty(t, plain[0].CorrelationID)
	require.Empty(t, plain[0].CausationID)
	require.Empty(t, plain[0].Metadata)
	var correlation *string
	require.NoError(t, store.Pool().QueryRow(ctx, `SELECT correlation_id FROM inventory.events WHERE stream_id = $1`, bare).Scan(&correlation))
	require.Nil(t, correlation, "an absent correlation id is NULL")
}

func TestAppendRefusesAnEventOfAnotherStream(t *testing.T) {
	t.Parallel()
	store, _ := setup(t)
	ctx := t.Context()
	id, other := newProductID(), newProductID()

	_, err := appendTx(ctx, store, id, 0, eventstore.Metadata{}, created(id), restocked(other, 1))
	require.Error(t, err)
	require.NotErrorIs(t, err, eventstore.ErrConcurrencyConflict)

	recs, err := appendTx(ctx, store, id, 0, eventstore.Metadata{})
	require.NoError(t, err)
	require.Empty(t, recs, "appending nothing is a no-op")

	version, err := store.StreamVersion(ctx, store.Pool(), id)
	require.NoError(t, err)
	require.Zero(t, version)
}

// An event too large for a Kafka message is refused before anything is
// written, so no relay is ever handed an event it cannot publish; one at
// the limit is appended.
func TestAppendRefusesAnEventLargerThanAKafkaMessage(t *testing.T) {
	t.Parallel()
	store, _ := setup(t)
	ctx := t.Context()
	id := newProductID()
	sized := func(payloadBytes int) messages.Event {
		e := created(id)
		base, err := json.Marshal(e)
		require.NoError(t, err)
		e.Name += strings.Repeat("n", payloadBytes-len(base))
		return e
	}

	_, err := appendTx(ctx, store, id, 0, eventstore.Metadata{}, created(id), sized(messages.MaxEventBytes+1))
	require.True(t, errcode.Is(err, errcode.InvalidOrderData), err)
	require.Contains(t, err.Error(), strconv.Itoa(messages.MaxEventBytes))
	version, err := store.StreamVersion(ctx, store.Pool(), id)
	require.NoError(t, err)
	require.Zero(t, version, "nothing of the command was appended")

	recs, err := appendTx(ctx, store, id, 0, eventstore.Metadata{}, sized(messages.MaxEventBytes))
	require.NoError(t, err)
	require.Len(t, recs[0].Data, messages.MaxEventBytes)
}

// BenchmarkAppend measures one command's write: begin, append n events,
// commit. "writers=1" is one writer in a loop; "writers=8" runs 8 at once
// (GOMAXPROCS x parallelism goroutines), like `pgbench -c 8` in
// docs/benchmarks.md. "notify=on" adds the NOTIFY trigger the relay used to
// listen for (migrations 00002, dropped by 00005) to show what it costs.
func BenchmarkAppend(b *testing.B) {
	for _, n := range []int{1, 10} {
		for _, writers := range []int{1, 8} {
			for _, notify := range []bool{true, false} {
				name := fmt.Sprintf("events=%d/writers=%d/notify=%s", n, writers, map[bool]string{true: "on", false: "off"}[notify])
				b.Run(name, func(b *testing.B) {
					store := benchStore(b, writers, notify)
					if writers == 1 {
						benchAppendSerial(b, store, n)
					} else {
						benchAppendParallel(b, store, n, writers)
					}
					b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
				})
			}
		}
	}
}

func benchAppendSerial(b *testing.B, store *eventstore.Store, n int) {
	ctx := b.Context()
	id, version := newProductID(), 0
	for b.Loop() {
		if _, err := appendTx(ctx, store, id, version, eventstore.Metadata{CorrelationID: "order-1"}, restocks(id, n)...); err != nil {
			b.Fatal(err)
		}
		version += n
	}
}

func benchAppendParallel(b *testing.B, store *eventstore.Store, n, writers int) {
	ctx := b.Context()
	b.SetParallelism(max(1, writers/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		id, version := newProductID(), 0
		for pb.Next() {
			if _, err := appendTx(ctx, store, id, version, eventstore.Metadata{CorrelationID: "order-1"}, restocks(id, n)...); err != nil {
				b.Error(err)
				return
			}
			version += n
		}
	})
}

func restocks(id string, n int) []messages.Event {
	events := make([]messages.Event, n)
	for i := range events {
		events[i] = restocked(id, i+1)
	}
	return events
}

// benchStore is setup with a pool of conns connections (the default pool
// has max(4, CPUs)), with or without the old NOTIFY trigger.
func benchStore(b *testing.B, conns int, notify bool) *eventstore.Store {
	b.Helper()
	env := testenv.New(b)
	cfg, err := pgxpool.ParseConfig(env.Config.PostgresURL)
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = int32(conns)
	pool, err := pgxpool.NewWithConfig(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	if notify {
		// The trigger of migration 00002, dropped by 00005: kept here to
		// show what it cost.
		if _, err := pool.Exec(b.Context(), `CREATE FUNCTION inventory.notify_events() RETURNS trigger
			LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('orderflow_events_inventory', ''); RETURN NULL; END; $$;
			CREATE TRIGGER events_notify AFTER INSERT ON inventory.events
				FOR EACH STATEMENT EXECUTE FUNCTION inventory.notify_events()`); err != nil {
			b.Fatal(err)
		}
	}
	return eventstore.New(pool, "inventory")
}

// An event's time is when it was appended, not when its transaction
// began: a transaction that began first but appends the next version after
// another one committed stamps it later, so within a stream times rise with
// the version (migration 00011; with now() it came out earlier).
func TestTimesRiseWithTheVersion(t *testing.T) {
	t.Parallel()
	store, _ := setup(t)
	ctx := t.Context()
	id := newProductID()

	early, err := store.Pool().Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = early.Rollback(context.Background()) }()
	_, err = early.Exec(ctx, "SELECT 1") // the transaction has begun
	require.NoError(t, err)
	time.Sleep(20 * time.Millisecond)

	first, err := appendTx(ctx, store, id, 0, eventstore.Metadata{}, created(id))
	require.NoError(t, err)
	second, err := store.Append(ctx, early, id, "Product", 1, eventstore.Metadata{}, restocked(id, 1))
	require.NoError(t, err)
	require.NoError(t, early.Commit(ctx))

	require.True(t, second[0].CreatedAt.After(first[0].CreatedAt),
		"version 2 at %s, after version 1 at %s", second[0].CreatedAt, first[0].CreatedAt)
	got, err := store.ReadStream(ctx, store.Pool(), id, 0)
	require.NoError(t, err)
	require.True(t, got[1].CreatedAt.After(got[0].CreatedAt))
}
