// Package handlers holds the command handlers of the three bounded contexts:
// one file per command, each a few lines that pick the aggregate and the
// decision. The shared mechanics — inbox, load, decide, append, retry on a
// concurrency conflict — live in Executor.
package handlers

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/postgres"
	"github.com/orderflow/orderflow/internal/tracing"
	"github.com/orderflow/orderflow/messages"
)

// ErrOutcomeUnknown marks a command whose commit failed: the database may
// have committed it before the connection failed, or not. Every error of
// Execute and ExecuteForCaller without it means nothing was recorded. A
// caller waiting for the answer must not report either as a plain
// failure: the same message id (for an order, the same idempotency key)
// sent again finds out, since the inbox applies it once.
var ErrOutcomeUnknown = errors.New("the database did not confirm the commit, its outcome is unknown")

// Aggregate is what the executor folds events into and asks to decide.
type Aggregate interface {
	Apply(messages.Event)
	Version() int
}

// Message identifies the command being handled, for the inbox and the
// events' envelope.
type Message struct {
	// Handler is the stable handler name; together with ID it keys the inbox.
	Handler string
	// ID is the message id; a second delivery of the same id changes nothing.
	ID string
	// CorrelationID ties the events to the flow they belong to (the order id).
	CorrelationID string
	// Trace is the trace context the events are recorded in
	// (tracing.Carry); nil takes ctx's, if tracing is on.
	Trace map[string]string
}

// trace is the trace context of the message's events: its own, or ctx's.
func (m Message) trace(ctx context.Context) map[string]string {
	if m.Trace != nil {
		return m.Trace
	}
	return tracing.Carry(ctx)
}

// Result is what one handled command did.
type Result struct {
	// Version is the stream version after the command; for a duplicate or
	// a refusal, the version the stream stood at.
	Version int
	// Records are the appended events (none for a no-op, a refusal or a
	// duplicate).
	Records []eventstore.Record
	// Events are the appended events, decoded.
	Events []messages.Event
	// Refusal is the domain's refusal of the command (for a duplicate, the
	// refusal recorded the first time, if any). ExecuteInTx returns it
	// here only; Execute and ExecuteForCaller return it as their error too.
	Refusal error
	// Duplicate is true when the message had been handled before.
	Duplicate bool
}

// With is what a caller in this process that waits for a command's answer
// (the API) adds to its execution; see ExecuteForCaller.
type With[A Aggregate] struct {
	// InTx runs in the command's transaction once the command was applied
	// (not for a duplicate or a refusal), with what it appended in res
	// (Records, Events): what it writes commits with the command, and its
	// error rolls both back (a concurrency conflict is retried, InTx
	// included). The func it returns, if any, runs once they committed,
	// outside the stream's lock: the order saga starts with the order and
	// sends its first commands after the commit.
	InTx func(ctx context.Context, tx pgx.Tx, res Result) (committed func(), err error)
	// View sees the aggregate as the command left it (for a duplicate or a
	// refusal: as the stream stands), under the stream's lock, so the
	// caller answers without reading the stream again. It must not keep
	// the aggregate: the executor's cache goes on changing it.
	View func(A)
}

func (w *With[A]) view(agg A) {
	if w != nil && w.View != nil {
		w.View(agg)
	}
}

// maxConflictRetries bounds how often a decision is retried on fresh state
// before the conflict is handed to the message-level retry.
const maxConflictRetries = 8

// Executor runs decisions on the aggregates of one stream type.
//
// It keeps recently used aggregates in memory, one lock per stream: a
// command on a hot stream (a popular product) only reads the events appended
// since the cached version, and two commands on one stream in this process
// never race each other into a conflict. Another process appending to the
// same stream is still caught by the expected-version check. Commands in a
// caller's transaction use the cache too when the transaction is a Tx
// (see ExecuteInTx).
type Executor[A Aggregate] struct {
	store      *eventstore.Store
	streamType string
	newAgg     func() A

	// entries are the cached aggregates, one entry (and lock) per stream,
	// the least recently used evicted. Evicting an entry someone holds is
	// safe: the next command on the stream gets a second entry and may
	// run beside the holder, and the store's expected-version check turns
	// that into a conflict the loser retries on fresh state (as with
	// another process), never into a lost or doubled event.
	entries *lru.Cache[string, *entry[A]]
}

type entry[A Aggregate] struct {
	mu  sync.Mutex
	agg A
	ok  bool // agg reflects the committed stream up to agg.Version(); false while a Tx holds it
}

// NewExecutor returns an executor for streams of streamType in store.
func NewExecutor[A Aggregate](store *eventstore.Store, streamType string, newAgg func() A) *Executor[A] {
	return newExecutor(store, streamType, newAgg, cacheSize)
}

// cacheSize bounds the aggregates an executor keeps in memory.
const cacheSize = 20000

func newExecutor[A Aggregate](store *eventstore.Store, streamType string, newAgg func() A, size int) *Executor[A] {
	entries, err := lru.New[string, *entry[A]](size)
	if err != nil {
		panic(fmt.Sprintf("executor cache of %d entries: %v", size, err)) // size is a positive constant
	}
	return &Executor[A]{store: store, streamType: streamType, newAgg: newAgg, entries: entries}
}

// Store is the event store the executor appends to.
func (x *Executor[A]) Store() *eventstore.Store { return x.store }

// Execute handles msg once, for the command bus: if its id is in the inbox
// nothing happens (and the recorded outcome is returned); otherwise the
// stream is loaded, decide is asked, and the events are appended together
// with the inbox row in one transaction. A refusal by the domain (an
// *errcode.Error) is recorded too, so a redelivery gets the same answer.
func (x *Executor[A]) Execute(ctx context.Context, msg Message, streamID string, decide func(A) ([]messages.Event, error)) (Result, error) {
	return x.execute(ctx, msg, streamID, decide, nil)
}

// ExecuteForCaller handles msg like Execute, for a caller in this process
// that waits for the answer (the API's commands): no message crosses
// Kafka, with.InTx adds the caller's writes to the command's transaction,
// and with.View answers from the aggregate the command left. The
// inbox works as for the bus: a message id handled before changes nothing
// and answers with the stream as it stands. A refusal is returned and not
// recorded: the caller has it, nothing is written, and a retry with the
// same message id decides again (a placement corrected under the same
// idempotency key is placed).
func (x *Executor[A]) ExecuteForCaller(ctx context.Context, msg Message, streamID string, decide func(A) ([]messages.Event, error), with With[A]) (Result, error) {
	return x.execute(ctx, msg, streamID, decide, &with)
}

// execute runs Execute (with nil) and ExecuteForCaller.
func (x *Executor[A]) execute(ctx context.Context, msg Message, streamID string, decide func(A) ([]messages.Event, error), with *With[A]) (Result, error) {
	if msg.Handler == "" || msg.ID == "" {
		return Result{}, errcode.New(errcode.Internal, "command for stream %s has no handler name or message id", streamID)
	}
	res, committed, err := x.executeLocked(ctx, msg, streamID, decide, with)
	if committed != nil {
		committed()
	}
	return res, err
}

// executeLocked holds the stream's lock while it tries, and retries a
// decision that met a concurrent writer.
func (x *Executor[A]) executeLocked(ctx context.Context, msg Message, streamID string, decide func(A) ([]messages.Event, error), with *With[A]) (Result, func(), error) {
	e := x.lock(streamID)
	defer e.mu.Unlock()

	for attempt := 0; ; attempt++ {
		res, committed, err := x.try(ctx, e, msg, streamID, decide, with)
		retry := errors.Is(err, eventstore.ErrConcurrencyConflict) || isUniqueViolation(err)
		if !retry || attempt == maxConflictRetries {
			return res, committed, err
		}
		// Another process moved the stream (or handled the same message)
		// at the same time: start over on fresh state after a short jitter.
		e.ok = false
		select {
		case <-ctx.Done():
			return Result{}, nil, ctx.Err()
		case <-time.After(time.Duration(rand.IntN(5*(attempt+1))) * time.Millisecond):
		}
	}
}

func (x *Executor[A]) try(ctx context.Context, e *entry[A], msg Message, streamID string, decide func(A) ([]messages.Event, error), with *With[A]) (Result, func(), error) {
	// BEGIN goes with handle's first batch (the inbox and stream reads).
	tx := postgres.Begin(x.store.Pool())
	defer func() { _ = tx.Rollback(context.Background()) }()

	if !e.ok {
		e.agg = x.newAgg()
	}
	// Until the stream is read, the cached aggregate is not known to be
	// whole: a failure on the way leaves it to be loaded afresh.
	e.ok = false
	// The writes go with COMMIT (postgres.Tx.QueueAtCommit): one round
	// trip for the append, the saga's row of a placement and COMMIT.
	res, err := x.handle(ctx, tx, msg, streamID, e.agg, decide, with == nil, true)
	if err != nil {
		return Result{}, nil, err
	}
	e.ok = true
	var committed func()
	// A duplicate wrote nothing, nor did a refusal a caller was told of.
	if !res.Duplicate && (res.Refusal == nil || with == nil) {
		if res.Refusal == nil && with != nil && with.InTx != nil {
			if committed, err = with.InTx(ctx, tx, res); err != nil {
				return Result{}, nil, err
			}
		}
		if err := tx.Commit(ctx); err != nil {
			e.ok = false
			if errors.Is(err, postgres.ErrNotCommitted) {
				// A write sent with COMMIT failed (a concurrency conflict,
				// retried, among others): nothing was committed.
				return Result{}, nil, fmt.Errorf("commit stream %s: %w", streamID, err)
			}
			return Result{}, nil, fmt.Errorf("commit stream %s: %w: %w", streamID, ErrOutcomeUnknown, err)
		}
		for _, ev := range res.Events {
			e.agg.Apply(ev)
		}
		res.Version = e.agg.Version()
	}
	with.view(e.agg)
	return res, committed, res.Refusal
}

// ExecuteInTx handles msg like Execute, inside the caller's transaction:
// for a caller that commits the command's events together with writes of
// its own (the order saga executing commands on the orders of its own
// context). Nothing is retried: a concurrency conflict fails the caller's
// transaction (the caller's message-level retry runs it again). The error
// is for failures only, after which tx must roll back; a refusal by the
// domain is recorded in tx and returned in Result.Refusal. Result.Events
// are the appended events, applied in Result.Version.
//
// Run commands on one stream of the store per transaction (the saga runs
// them on its order): a stream first read after the transaction's first
// write could get its next version out of the relay's order (see the
// eventstore package and ExecuteBatch, which reads its streams first).
//
// In a *Tx (WrapTx) the command decides on the executor's cached aggregate
// and reads only the events appended after its version; the aggregate is
// the transaction's until it ends (see Tx), so commands on the same stream
// later in tx see this one's events. A stream is read once per *Tx (by
// its first command, or before by QueueReadsInTx): the commands after
// that read nothing and send their writes with the COMMIT, whose error
// then reports a concurrency conflict. In any other transaction the stream
// is read from its start and the cache is left alone (its next use reads
// whatever this appended).
func (x *Executor[A]) ExecuteInTx(ctx context.Context, tx pgx.Tx, msg Message, streamID string, decide func(A) ([]messages.Event, error)) (Result, error) {
	if msg.Handler == "" || msg.ID == "" {
		return Result{}, errcode.New(errcode.Internal, "command for stream %s has no handler name or message id", streamID)
	}
	agg, t := x.inTx(tx, streamID)
	key := heldKey{executor: x, streamID: streamID}
	var res Result
	var err error
	switch {
	case t != nil && t.read[key]:
		// Read already in tx (QueueReadsInTx, or an earlier command):
		// reading it again after tx's first write could break the relay's
		// order (see the eventstore package), and another writer of the
		// stream fails the append anyway. The writes go with COMMIT.
		res, err = x.handleAfter(ctx, tx, msg, streamID, agg, decide, true, nil, false, true)
	case t != nil && t.wrote:
		// Read now, the stream could get its next version out of the
		// relay's order: the caller handles the command again in a
		// transaction of its own.
		err = fmt.Errorf("stream %s was not read before the transaction's first write (QueueReadsInTx)", streamID)
	default:
		res, err = x.handle(ctx, tx, msg, streamID, agg, decide, true, false)
		if err == nil && t != nil {
			t.markRead(key)
		}
	}
	if t != nil {
		t.wrote = true // the inbox claim, at least
	}
	if err != nil {
		if t != nil {
			// agg may hold part of what was read: none of tx's aggregates
			// go back to the cache.
			t.failed = true
		}
		return res, err
	}
	for _, ev := range res.Events {
		agg.Apply(ev)
	}
	res.Version = agg.Version()
	return res, nil
}

// QueueReadsInTx queues into b, which the caller sends in tx before tx's
// first write, the reads of the streams that commands in tx will run on
// (ExecuteInTx): each stream's events after the version of the aggregate
// tx takes for it (the cached one, if any). The returned func applies
// what was read; call it once b ran without error. The commands on these
// streams in tx then read nothing, and send their writes with tx's
// COMMIT: a transaction running commands on several streams reads them
// all before its first write, as the eventstore package requires. tx must
// be a *Tx.
func (x *Executor[A]) QueueReadsInTx(tx *Tx, b *pgx.Batch, streamIDs []string) (apply func() error) {
	var reads []*catchUp[A]
	for _, id := range streamIDs {
		key := heldKey{executor: x, streamID: id}
		if tx.read[key] {
			continue
		}
		agg, _ := x.inTx(tx, id)
		r := &catchUp[A]{streamID: id, agg: agg}
		x.store.QueueReadStream(b, id, agg.Version(), &r.records)
		reads = append(reads, r)
	}
	return func() error {
		for _, r := range reads {
			if err := applyRecords(r.agg, r.streamID, r.records); err != nil {
				tx.failed = true
				return err
			}
			tx.markRead(heldKey{executor: x, streamID: r.streamID})
		}
		return nil
	}
}

// inTx returns the aggregate a command in tx decides on, and tx as a *Tx
// if it is one: the one tx holds already, else the cached one (taken out
// of the cache, to come back once tx committed), else a new one.
func (x *Executor[A]) inTx(tx pgx.Tx, streamID string) (A, *Tx) {
	t, ok := tx.(*Tx)
	if !ok {
		return x.newAgg(), nil
	}
	key := heldKey{executor: x, streamID: streamID}
	if agg, ok := t.held[key]; ok {
		return agg.(A), t
	}
	agg := x.take(streamID)
	t.hold(key, agg, func() { x.giveBack(streamID, agg) })
	return agg, t
}

// take removes the cached aggregate of streamID from the cache and returns
// it, or a new aggregate when there is none or the stream is busy in this
// process (its lock held: then whatever its holder leaves is cached). It
// never waits for the stream's lock.
func (x *Executor[A]) take(streamID string) A {
	e, ok := x.peek(streamID)
	if !ok || !e.mu.TryLock() {
		return x.newAgg()
	}
	defer e.mu.Unlock()
	if !e.ok {
		return x.newAgg()
	}
	agg := e.agg
	var none A
	e.agg, e.ok = none, false
	return agg
}

// giveBack caches agg, which holds streamID's committed events up to its
// version, unless the cache holds the stream at that version or later, or
// the stream is busy in this process (its holder's state wins). Both are
// prefixes of the same committed stream, so the longer is as good as any.
// It never waits for the stream's lock.
func (x *Executor[A]) giveBack(streamID string, agg A) {
	e := x.entry(streamID)
	if !e.mu.TryLock() {
		return
	}
	defer e.mu.Unlock()
	if !e.ok || e.agg.Version() < agg.Version() {
		e.agg, e.ok = agg, true
	}
}

// Call is one command of a batch: its message, its stream and its
// decision.
type Call[A Aggregate] struct {
	Msg      Message
	StreamID string
	Decide   func(A) ([]messages.Event, error)
}

// ExecuteBatch handles calls like Execute, in order, in one transaction:
// for the command bus, which takes what a partition has ready at once.
// A command sees the events of the commands before it on its stream; a
// message id handled before (or earlier in the batch) changes nothing; a
// refusal by the domain is recorded and returned in its Result.Refusal.
// The error is for failures: the whole batch is rolled back, nothing of it
// is written and the caller retries (smaller batches, down to the failing
// command). The streams' cache entries are held for the batch, so this
// process's other commands on them wait, and hold its outcome once it
// committed (after a failure they are loaded afresh).
func (x *Executor[A]) ExecuteBatch(ctx context.Context, calls []Call[A]) ([]Result, error) {
	if len(calls) == 0 {
		return nil, nil
	}
	var ids []string
	for _, c := range calls {
		if c.Msg.Handler == "" || c.Msg.ID == "" {
			return nil, errcode.New(errcode.Internal, "command for stream %s has no handler name or message id", c.StreamID)
		}
		ids = append(ids, c.StreamID)
	}
	// The entries are taken in one order, so two batches sharing streams
	// cannot each hold one the other waits for.
	slices.Sort(ids)
	ids = slices.Compact(ids)
	entries := make(map[string]*entry[A], len(ids))
	for _, id := range ids {
		e := x.lock(id)
		defer e.mu.Unlock()
		if !e.ok {
			e.agg = x.newAgg()
		}
		// Until the batch commits, the cached aggregates are not known to
		// be whole.
		e.ok = false
		entries[id] = e
	}

	// BEGIN goes with the first command's reads.
	tx := postgres.Begin(x.store.Pool())
	defer func() { _ = tx.Rollback(context.Background()) }()
	results := make([]Result, len(calls))
	for i, c := range calls {
		e := entries[c.StreamID]
		// Every stream of the batch is read with the first command's
		// claim, before the transaction's first write (see the eventstore
		// package): a stream read after it could have been appended to by
		// a transaction with a higher id, and the relay would publish this
		// batch's later version first. A stream another process appends to
		// meanwhile fails the batch at the append (expected version) and
		// the caller retries it. A duplicate later in the batch does not
		// read its stream again, for the same reason.
		var reads []*catchUp[A]
		if i == 0 {
			for _, id := range ids {
				reads = append(reads, &catchUp[A]{streamID: id, agg: entries[id].agg})
			}
		}
		res, err := x.handleAfter(ctx, tx, c.Msg, c.StreamID, e.agg, c.Decide, true, reads, false, false)
		if err != nil {
			return nil, fmt.Errorf("command %s on stream %s: %w", c.Msg.ID, c.StreamID, err)
		}
		// Applied now, so the next command on the stream, in this
		// transaction, decides on them and appends after them.
		for _, ev := range res.Events {
			e.agg.Apply(ev)
		}
		res.Version = e.agg.Version()
		results[i] = res
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit a batch of %d commands: %w", len(calls), err)
	}
	for _, e := range entries {
		e.ok = true
	}
	return results, nil
}

// handle is the transaction's work, reads first and writes last (see the
// eventstore package comment), in two round trips: the stream's events
// after agg's version (applied to agg) with the message's claim in the
// inbox (an insert that does nothing for a message id handled before, so
// the look-up costs no statement of its own), then the decision, and the
// append. The decided events are in res (Records, Events), not applied:
// the caller applies them once it knows they are committed. A refusal by
// the domain (an *errcode.Error from decide) is in res.Refusal, recorded
// on the inbox row if record is set (if not, the caller must roll back,
// which drops the claim); a duplicate carries the refusal recorded the
// first time. The store's refusal of an event larger than
// messages.MaxEventBytes (which no relay could publish) is a refusal too,
// with nothing appended. err is for failures: the transaction must then
// roll back.
//
// With atCommit set and tx a *postgres.Tx, the writes are queued to go
// with tx's COMMIT instead (postgres.Tx.QueueAtCommit): res.Records are
// complete, and a concurrency conflict is reported, only by Commit.
func (x *Executor[A]) handle(ctx context.Context, tx pgx.Tx, msg Message, streamID string, agg A, decide func(A) ([]messages.Event, error), record, atCommit bool) (Result, error) {
	return x.handleAfter(ctx, tx, msg, streamID, agg, decide, record, []*catchUp[A]{{streamID: streamID, agg: agg}}, true, atCommit)
}

// catchUp is a stream read with a command's claim: its events after agg's
// version, applied to agg.
type catchUp[A Aggregate] struct {
	streamID string
	agg      A
	records  []eventstore.Record
}

// handleAfter is handle reading the streams in reads with the claim (the
// command's own stream among them, unless tx read it before: ExecuteBatch
// reads every stream of the batch before its first write). A duplicate
// reads its stream again only if reread is set.
func (x *Executor[A]) handleAfter(ctx context.Context, tx pgx.Tx, msg Message, streamID string, agg A, decide func(A) ([]messages.Event, error), record bool, reads []*catchUp[A], reread, atCommit bool) (Result, error) {
	b := &pgx.Batch{}
	for _, r := range reads {
		x.store.QueueReadStream(b, r.streamID, r.agg.Version(), &r.records)
	}
	// After the read: the insert gives the transaction its id, which must
	// come after every read of the stream. It waits for a transaction
	// handling the same message at the same time, and claims it if that
	// one rolls back.
	claimed := false
	b.Queue(`INSERT INTO `+x.inboxTable()+` (handler, message_id, stream_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING true`,
		msg.Handler, msg.ID, streamID).
		QueryRow(func(row pgx.Row) error {
			err := row.Scan(&claimed)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("claim message %s in the inbox: %w", msg.ID, err)
			}
			return nil
		})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return Result{}, err
	}
	for _, r := range reads {
		if err := applyRecords(r.agg, r.streamID, r.records); err != nil {
			return Result{}, err
		}
	}
	if !claimed {
		return x.duplicate(ctx, tx, msg, streamID, agg, reread)
	}

	events, decideErr := decide(agg)
	var refused *errcode.Error
	if decideErr != nil && !errors.As(decideErr, &refused) {
		return Result{}, decideErr
	}
	if refused != nil && !record {
		return Result{Version: agg.Version(), Refusal: decideErr}, nil
	}
	writes := &pgx.Batch{}
	var appended []eventstore.Record
	if refused == nil && len(events) > 0 {
		var err error
		appended, err = x.store.QueueAppend(ctx, writes, streamID, x.streamType, agg.Version(),
			eventstore.Metadata{CorrelationID: msg.CorrelationID, CausationID: msg.ID, Extra: msg.trace(ctx)}, events...)
		// The store refuses an event too large to ever be published
		// before queueing anything: that is the command's refusal, like
		// the domain's.
		var tooLarge *errcode.Error
		switch {
		case errors.As(err, &tooLarge) && tooLarge.Code == errcode.InvalidOrderData:
			refused, decideErr, appended = tooLarge, err, nil
			if !record {
				return Result{Version: agg.Version(), Refusal: decideErr}, nil
			}
		case err != nil:
			return Result{}, err
		}
	}
	if refused != nil {
		x.queueRefusal(writes, msg, refused)
	}
	// A command that changes nothing (a no-op) has nothing to write.
	if ptx, ok := postgres.AtCommit(tx); ok && atCommit {
		ptx.QueueAtCommit(writes)
	} else if writes.Len() > 0 {
		if err := tx.SendBatch(ctx, writes).Close(); err != nil {
			return Result{}, err
		}
	}
	if refused != nil {
		return Result{Version: agg.Version(), Refusal: decideErr}, nil
	}
	return Result{Version: agg.Version(), Records: appended, Events: events}, nil
}

// duplicate answers a message handled before: with the refusal recorded
// then, if any, and, if reread is set, the stream as it stands, read again
// (the claim may have waited for the first handling to commit after the
// stream was read).
func (x *Executor[A]) duplicate(ctx context.Context, tx pgx.Tx, msg Message, streamID string, agg A, reread bool) (Result, error) {
	b := &pgx.Batch{}
	handled := &outcome{}
	b.Queue(`SELECT error_code, error_message FROM `+x.inboxTable()+` WHERE handler = $1 AND message_id = $2`, msg.Handler, msg.ID).
		QueryRow(func(row pgx.Row) error {
			err := row.Scan(&handled.code, &handled.message)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) { // gone: deleted by retention meanwhile
				return fmt.Errorf("read inbox for message %s: %w", msg.ID, err)
			}
			return nil
		})
	var records []eventstore.Record
	if reread {
		x.store.QueueReadStream(b, streamID, agg.Version(), &records)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return Result{}, err
	}
	if err := applyRecords(agg, streamID, records); err != nil {
		return Result{}, err
	}
	return Result{Duplicate: true, Version: agg.Version(), Refusal: handled.err()}, nil
}

func applyRecords[A Aggregate](agg A, streamID string, records []eventstore.Record) error {
	for _, r := range records {
		ev, err := r.Decode()
		if err != nil {
			return fmt.Errorf("load stream %s: %w", streamID, err)
		}
		agg.Apply(ev)
	}
	return nil
}

// Load returns the current state of a stream, for callers that answer with
// it (the API after a synchronous command, for instance).
func (x *Executor[A]) Load(ctx context.Context, streamID string) (A, error) {
	agg := x.newAgg()
	records, err := x.store.ReadStream(ctx, x.store.Pool(), streamID, 0)
	if err != nil {
		return agg, err
	}
	return agg, applyRecords(agg, streamID, records)
}

// Handled reports whether msg is in the inbox already, for a handler that
// does work outside the transaction (an external call) and must not repeat
// it for a redelivered message. Execute checks the inbox again in its
// transaction, which is what decides.
func (x *Executor[A]) Handled(ctx context.Context, msg Message) (bool, error) {
	if msg.Handler == "" || msg.ID == "" {
		return false, errcode.New(errcode.Internal, "command has no handler name or message id")
	}
	var found bool
	err := x.store.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT FROM `+x.inboxTable()+` WHERE handler = $1 AND message_id = $2)`, msg.Handler, msg.ID).Scan(&found)
	if err != nil {
		return false, fmt.Errorf("read inbox for message %s: %w", msg.ID, err)
	}
	return found, nil
}

type outcome struct {
	code    *string
	message *string
}

func (o *outcome) err() error {
	if o.code == nil {
		return nil
	}
	msg := ""
	if o.message != nil {
		msg = *o.message
	}
	return errcode.New(errcode.Code(*o.code), "%s", msg)
}

// queueRefusal queues recording refusal on msg's inbox row (claimed by
// handle), so a redelivery gets the same answer.
func (x *Executor[A]) queueRefusal(b *pgx.Batch, msg Message, refusal *errcode.Error) {
	b.Queue(`UPDATE `+x.inboxTable()+` SET error_code = $3, error_message = $4 WHERE handler = $1 AND message_id = $2`,
		msg.Handler, msg.ID, string(refusal.Code), refusal.Message)
}

func (x *Executor[A]) inboxTable() string {
	return pgx.Identifier{x.store.Schema(), "inbox"}.Sanitize()
}

// lock returns the locked cache entry of streamID.
func (x *Executor[A]) lock(streamID string) *entry[A] {
	e := x.entry(streamID)
	e.mu.Lock()
	return e
}

// entry returns the cache entry of streamID, unlocked, adding it if the
// cache has none (which may evict the least recently used entry, held or
// not: see Executor.entries).
func (x *Executor[A]) entry(streamID string) *entry[A] {
	if e, ok := x.entries.Get(streamID); ok {
		return e
	}
	e := &entry[A]{}
	if prev, ok, _ := x.entries.PeekOrAdd(streamID, e); ok {
		return prev // added meanwhile
	}
	return e
}

// peek returns the cache entry of streamID, unlocked, if there is one.
func (x *Executor[A]) peek(streamID string) (*entry[A], bool) {
	return x.entries.Peek(streamID)
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
