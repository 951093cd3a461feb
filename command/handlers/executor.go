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
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/messages"
)

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
}

// Result is what one handled command did.
type Result struct {
	// Version is the stream version after the command (0 for a duplicate).
	Version int
	// Records are the appended events (none for a no-op or a duplicate).
	Records []eventstore.Record
	// Events are the appended events, decoded (ExecuteInTx only).
	Events []messages.Event
	// Refusal is the domain's refusal of the command, recorded in the
	// inbox (ExecuteInTx only; for a duplicate, the refusal recorded the
	// first time, if any).
	Refusal error
	// Duplicate is true when the message had been handled before.
	Duplicate bool
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
// same stream is still caught by the expected-version check.
type Executor[A Aggregate] struct {
	store      *eventstore.Store
	streamType string
	newAgg     func() A

	mu      sync.Mutex
	entries map[string]*entry[A]
	maxSize int

	// outcomes, when set, is told of every outcome this executor commits.
	outcomes *outcomes
}

type entry[A Aggregate] struct {
	mu  sync.Mutex
	agg A
	ok  bool // agg reflects the stream up to agg.Version()
}

// NewExecutor returns an executor for streams of streamType in store.
func NewExecutor[A Aggregate](store *eventstore.Store, streamType string, newAgg func() A) *Executor[A] {
	return &Executor[A]{store: store, streamType: streamType, newAgg: newAgg, entries: map[string]*entry[A]{}, maxSize: 20000}
}

// Store is the event store the executor appends to.
func (x *Executor[A]) Store() *eventstore.Store { return x.store }

// Execute handles msg once: if its id is in the inbox nothing happens (and
// the recorded outcome is returned); otherwise the stream is loaded, decide
// is asked, and the events are appended together with the inbox row in one
// transaction. A refusal by the domain (an *errcode.Error) is recorded too,
// so it is final and a waiting caller can read it.
func (x *Executor[A]) Execute(ctx context.Context, msg Message, streamID string, decide func(A) ([]messages.Event, error)) (Result, error) {
	if msg.Handler == "" || msg.ID == "" {
		return Result{}, errcode.New(errcode.Internal, "command for stream %s has no handler name or message id", streamID)
	}
	e := x.lock(streamID)
	defer e.mu.Unlock()

	for attempt := 0; ; attempt++ {
		res, err := x.try(ctx, e, msg, streamID, decide)
		retry := errors.Is(err, eventstore.ErrConcurrencyConflict) || isUniqueViolation(err)
		if !retry || attempt == maxConflictRetries {
			return res, err
		}
		// Another process moved the stream (or handled the same message)
		// at the same time: start over on fresh state after a short jitter.
		e.ok = false
		select {
		case <-ctx.Done():
			return Result{}, ctx.Err()
		case <-time.After(time.Duration(rand.IntN(5*(attempt+1))) * time.Millisecond):
		}
	}
}

func (x *Executor[A]) try(ctx context.Context, e *entry[A], msg Message, streamID string, decide func(A) ([]messages.Event, error)) (Result, error) {
	tx, err := x.store.Pool().BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return Result{}, fmt.Errorf("begin transaction for stream %s: %w", streamID, err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()

	if !e.ok {
		e.agg = x.newAgg()
	}
	// Until the stream is read, the cached aggregate is not known to be
	// whole: a failure on the way leaves it to be loaded afresh.
	e.ok = false
	res, events, refusal, err := x.handle(ctx, tx, msg, streamID, e.agg, decide)
	if err != nil && !res.Duplicate {
		return res, err
	}
	e.ok = true
	if res.Duplicate {
		return res, err
	}
	if err := tx.Commit(ctx); err != nil {
		e.ok = false
		return Result{}, fmt.Errorf("commit stream %s: %w", streamID, err)
	}
	x.outcomes.committed(msg.Handler, msg.ID)
	for _, ev := range events {
		e.agg.Apply(ev)
	}
	res.Version = e.agg.Version()
	return res, refusal
}

// ExecuteInTx handles msg like Execute, inside the caller's transaction:
// for a caller that commits the command's events together with writes of
// its own (the order saga executing commands on the orders of its own
// context). The stream is read in tx, not from the cache (whose next use
// reads whatever this appended), and nothing is retried: a concurrency
// conflict fails the caller's transaction. The error is for failures only,
// after which tx must roll back; a refusal by the domain is recorded in tx
// and returned in Result.Refusal. Result.Events are the appended events,
// applied in Result.Version.
func (x *Executor[A]) ExecuteInTx(ctx context.Context, tx pgx.Tx, msg Message, streamID string, decide func(A) ([]messages.Event, error)) (Result, error) {
	if msg.Handler == "" || msg.ID == "" {
		return Result{}, errcode.New(errcode.Internal, "command for stream %s has no handler name or message id", streamID)
	}
	agg := x.newAgg()
	res, events, refusal, err := x.handle(ctx, tx, msg, streamID, agg, decide)
	if res.Duplicate {
		res.Refusal = err
		return res, nil
	}
	if err != nil {
		return res, err
	}
	for _, ev := range events {
		agg.Apply(ev)
	}
	res.Version = agg.Version()
	res.Events = events
	res.Refusal = refusal
	return res, nil
}

// handle is the transaction's work, reads first and writes last (see the
// eventstore package comment), in two round trips: the inbox lookup with
// the stream's events after agg's version (applied to agg), then the
// decision, and the inbox row with the append. It returns the decided
// events, to apply once the caller knows they are committed. A refusal by
// the domain (an *errcode.Error from decide) is recorded and returned apart
// from err, which is for failures: the transaction must then roll back. A
// duplicate returns the outcome recorded the first time as err.
func (x *Executor[A]) handle(ctx context.Context, tx pgx.Tx, msg Message, streamID string, agg A, decide func(A) ([]messages.Event, error)) (res Result, events []messages.Event, refusal, err error) {
	reads := &pgx.Batch{}
	handled, found := &outcome{}, false
	reads.Queue(`SELECT error_code, error_message FROM `+x.inboxTable()+` WHERE handler = $1 AND message_id = $2`, msg.Handler, msg.ID).
		QueryRow(func(row pgx.Row) error {
			err := row.Scan(&handled.code, &handled.message)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("read inbox for message %s: %w", msg.ID, err)
			}
			found = true
			return nil
		})
	var records []eventstore.Record
	x.store.QueueReadStream(reads, streamID, agg.Version(), &records)
	if err := tx.SendBatch(ctx, reads).Close(); err != nil {
		return Result{}, nil, nil, err
	}
	if found {
		// A duplicate: nothing is decided, and the stream's version is not
		// needed.
		return Result{Duplicate: true}, nil, nil, handled.err()
	}
	if err := applyRecords(agg, streamID, records); err != nil {
		return Result{}, nil, nil, err
	}

	events, decideErr := decide(agg)
	var refused *errcode.Error
	if decideErr != nil && !errors.As(decideErr, &refused) {
		return Result{}, nil, nil, decideErr
	}
	writes := &pgx.Batch{}
	x.queueInbox(writes, msg, streamID, refused)
	var appended []eventstore.Record
	if refused == nil && len(events) > 0 {
		appended, err = x.store.QueueAppend(ctx, writes, streamID, x.streamType, agg.Version(),
			eventstore.Metadata{CorrelationID: msg.CorrelationID, CausationID: msg.ID}, events...)
		if err != nil {
			return Result{}, nil, nil, err
		}
	}
	if err := tx.SendBatch(ctx, writes).Close(); err != nil {
		return Result{}, nil, nil, err
	}
	if refused != nil {
		return Result{}, nil, decideErr, nil
	}
	return Result{Records: appended}, events, nil, nil
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

// queueInbox queues the inbox row of msg: its refusal, if any.
func (x *Executor[A]) queueInbox(b *pgx.Batch, msg Message, streamID string, refusal *errcode.Error) {
	var code, text *string
	if refusal != nil {
		c, m := string(refusal.Code), refusal.Message
		code, text = &c, &m
	}
	b.Queue(`INSERT INTO `+x.inboxTable()+` (handler, message_id, stream_id, error_code, error_message) VALUES ($1, $2, $3, $4, $5)`,
		msg.Handler, msg.ID, streamID, code, text)
}

func (x *Executor[A]) inboxTable() string {
	return pgx.Identifier{x.store.Schema(), "inbox"}.Sanitize()
}

// lock returns the locked cache entry of streamID, evicting idle entries
// when the cache is full.
func (x *Executor[A]) lock(streamID string) *entry[A] {
	x.mu.Lock()
	e, ok := x.entries[streamID]
	if !ok {
		if len(x.entries) >= x.maxSize {
			for id, old := range x.entries {
				if old.mu.TryLock() {
					delete(x.entries, id)
					old.mu.Unlock()
				}
				if len(x.entries) < x.maxSize/2 {
					break
				}
			}
		}
		e = &entry[A]{}
		x.entries[streamID] = e
	}
	x.mu.Unlock()
	e.mu.Lock()
	return e
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
