// Package outbox is the relay that publishes a bounded context's committed
// events to Kafka. The event store's events table is the outbox: a command
// handler appends events in its own transaction and the relay, a separate
// process role, publishes them afterwards.
//
// Guarantees:
//   - Commit order, nothing skipped. Events are read in (transaction_id,
//     position) order below the snapshot xmin, never by position alone and
//     never by waiting out gaps; see eventReader for why an event whose
//     transaction commits late is still published. Per stream this is
//     version order.
//   - At least once. A batch is published, then the checkpoint is stored in
//     <schema>.relay_checkpoints, in the same round trip (and implicit
//     transaction) as the next read, or on its own when the relay stops or
//     blocks a stream; a crash in between publishes that one batch (at most
//     BatchSize events) again after restart, nothing earlier. Consumers
//     dedupe by the event id header (messages.HeaderEventID, also the
//     watermill message UUID). A relay that finds nothing new writes
//     nothing.
//   - One active instance per relay. A session-level advisory lock, held on
//     a dedicated connection that also carries every read and checkpoint
//     write; standbys retry every LockRetryInterval and take over when the
//     holder's session ends. A relay whose session breaks stops publishing
//     at once and must win the lock again before it continues.
//   - A refused event stops its stream only. An event the broker will never
//     accept (a *RefusedError from the Publisher: too large, invalid) is
//     recorded in <schema>.relay_blocked_streams; the stream's later events
//     wait behind it in the event store, never published out of order and
//     never dropped, while every other stream keeps being published in
//     commit order. relay_blocked_streams and relay_refused_events_total
//     show it, an error log names the event; see block for how an operator
//     unblocks the stream. Any other publish failure is transient: the
//     same events are published again, with backoff, for as long as it
//     takes.
//   - Low latency without notifications. The relay reads again at once
//     after publishing a full batch and, when it finds nothing (or less
//     than a batch), backs off from MinPollInterval to PollInterval; an
//     append by a writer of this process (Config.Appended) wakes it, and it
//     reads WakeDelay later, once that append has likely committed, with
//     whatever else was appended meanwhile. It used to LISTEN
//     for a NOTIFY trigger on the events table (migration 00002, dropped by
//     00005): PostgreSQL serialises the commits of all notifying
//     transactions behind one lock, which cost the appenders more than
//     polling costs the relay (docs/benchmarks.md).
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/internal/deadletter"
	"github.com/orderflow/orderflow/internal/pause"
)

// checkpointSaveTimeout bounds a checkpoint write of its own (when the
// relay stops or blocks a stream) and a read (which may carry one); both
// run even while the relay stops, so a graceful stop re-publishes nothing.
const checkpointSaveTimeout = 5 * time.Second

// maxHeldRetryInterval caps the re-poll delay while events are held behind
// an older open transaction, whatever the poll interval: that transaction
// is usually a few milliseconds from its commit, and the held events' own
// transactions have committed already.
const maxHeldRetryInterval = 10 * time.Millisecond

// Relay publishes the events of one context's event store to one topic.
type Relay struct {
	cfg         Config
	connConfig  *pgx.ConnConfig
	publisher   Publisher
	logger      *slog.Logger
	metrics     *metrics
	events      eventReader
	checkpoints checkpointStore
	blocked     blockedStore
}

// New returns the relay described by cfg. It takes the connection settings
// of pool for its own dedicated session and does not use the pool's
// connections, so command handlers never lose one to it. That session must
// reach PostgreSQL directly or through a session-mode pooler: a
// transaction-mode pooler loses advisory locks and LISTEN. Metrics are
// registered on reg (nil: not registered); logger may be nil.
func New(pool *pgxpool.Pool, publisher Publisher, cfg Config, logger *slog.Logger, reg prometheus.Registerer) (*Relay, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if pool == nil || publisher == nil {
		return nil, errors.New("outbox relay needs a pool and a publisher")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(reg, cfg.Schema, cfg.Name)
	if err != nil {
		return nil, err
	}
	return &Relay{
		cfg:         cfg,
		connConfig:  pool.Config().ConnConfig,
		publisher:   publisher,
		logger:      logger.With("context", cfg.Schema, "relay", cfg.Name, "topic", cfg.Topic),
		metrics:     m,
		events:      newEventReader(cfg.Schema, cfg.Name),
		checkpoints: newCheckpointStore(cfg.Schema, cfg.Name),
		blocked:     newBlockedStore(cfg.Schema, cfg.Name),
	}, nil
}

// Run publishes until ctx ends, then returns nil. Lost connections, a lost
// lock and failed publishes are logged and retried, never skipped (an
// event refused for good blocks its own stream), so Run has no other way
// to end: a relay that is unhealthy says so through its metrics
// (relay_active, relay_lag_seconds, relay_publish_errors_total,
// relay_blocked_streams).
func (r *Relay) Run(ctx context.Context) error {
	r.logger.Info("relay started")
	for {
		err := r.runSession(ctx)
		if ctx.Err() != nil {
			r.logger.Info("relay stopped")
			return nil
		}
		r.logger.Warn("relay session ended, reconnecting", "error", err, "retry_in", r.cfg.LockRetryInterval)
		if !pause.For(ctx, r.cfg.LockRetryInterval) {
			r.logger.Info("relay stopped")
			return nil
		}
	}
}

// runSession opens the dedicated session, waits for the lock and publishes
// until the session or ctx ends. Closing the session releases the lock.
func (r *Relay) runSession(ctx context.Context) error {
	lc, err := connectLock(ctx, r.connConfig, "orderflow-relay-"+r.cfg.Schema+"-"+r.cfg.Name)
	if err != nil {
		return err
	}
	defer lc.close()
	if err := r.acquire(ctx, lc); err != nil {
		return err
	}
	r.metrics.active.Set(1)
	defer r.metrics.active.Set(0)
	defer r.metrics.waiting(time.Time{})

	cp, err := r.checkpoints.load(ctx, lc.conn)
	if err != nil {
		return err
	}
	r.logger.Info("relay active", "transaction_id", cp.TransactionID, "position", cp.Position)
	blocked, err := r.blocked.count(ctx, lc.conn)
	if err != nil {
		return err
	}
	r.metrics.blocked.Set(float64(blocked))
	defer r.metrics.blocked.Set(0)
	if blocked > 0 {
		r.logger.Warn("streams blocked by events the broker refused wait for an operator", "streams", blocked,
			"table", r.cfg.Schema+".relay_blocked_streams")
	}
	return r.publish(ctx, lc, cp)
}

// acquire returns once the session holds the relay lock.
func (r *Relay) acquire(ctx context.Context, lc *lockConn) error {
	standingBy := false
	for {
		ok, err := lc.tryLock(ctx, r.cfg.lockKey())
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if !standingBy {
			r.logger.Info("relay standing by, another instance holds the lock")
			standingBy = true
		}
		if !pause.For(ctx, r.cfg.LockRetryInterval) {
			return ctx.Err()
		}
	}
}

// publish is the active relay's loop: read a batch below the horizon,
// publish it in one call, and read again at once, storing the checkpoint
// of what was published in the same round trip as that read (it saves a
// round trip and a transaction per batch; a crash before that read
// publishes the batch again). The checkpoint is stored on its own only
// when publish returns (a graceful stop publishes nothing twice) and
// before a stream is blocked.
// When a read finds nothing it waits MinPollInterval, doubling on every
// further empty read up to PollInterval (10 ms while events are held),
// so a busy relay never sleeps between batches and an idle one costs a few
// cheap queries per PollInterval. It returns only with an error (ctx
// ended, session broken).
func (r *Relay) publish(ctx context.Context, lc *lockConn, cp checkpoint) error {
	pollDelay := r.cfg.MinPollInterval
	publishDelay := r.cfg.PublishRetryInterval
	// failed waits after a transient publish failure; false once ctx ended.
	failed := func(err error, events []eventstore.Record) bool {
		r.metrics.publishErrors.Inc()
		r.logger.Error("publish failed, retrying the same events", "error", err, "events", len(events),
			"first_event_id", events[0].EventID, "first_position", events[0].Position, "retry_in", publishDelay)
		if !pause.For(ctx, publishDelay) {
			return false
		}
		publishDelay = min(2*publishDelay, r.cfg.MaxPublishRetryInterval)
		return true
	}
	// unsaved: cp is published but not stored yet.
	unsaved := false
	defer func() {
		if unsaved {
			if err := r.saveCheckpoint(ctx, lc, cp); err != nil {
				r.logger.Warn("checkpoint not stored, the last batch is published again on restart", "error", err,
					"transaction_id", cp.TransactionID, "position", cp.Position)
			}
		}
	}()
	for {
		var save *pgx.QueuedQuery
		if unsaved {
			save = r.checkpoints.saveQuery(cp)
		}
		// A stop does not interrupt a read: pgx closes a connection whose
		// query's context ends, and the checkpoint still to be stored
		// (here or by the deferred save) would be lost with it, so the
		// relay taking over would publish the last batch again.
		readCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkpointSaveTimeout)
		read, err := r.events.read(readCtx, lc.conn, cp, r.cfg.BatchSize, save)
		cancel()
		if err != nil {
			return err
		}
		unsaved = false
		if read.retry != nil {
			events, publishErr, err := r.retryBlocked(ctx, lc, cp, *read.retry)
			if err != nil {
				return err
			}
			if publishErr != nil && (ctx.Err() != nil || !failed(publishErr, events)) {
				return ctx.Err()
			}
			// The stream may have rejoined the read: read again, so none of
			// its events after the checkpoint is left out of this batch.
			continue
		}
		batch := read.batch
		if len(batch) > 0 {
			r.metrics.waiting(oldest(batch))
			n, refused, publishErr := r.publishInOrder(ctx, batch)
			if n > 0 {
				cp, unsaved = r.advance(batch[:n]), true
			}
			if refused != nil {
				// Read again: the batch without the blocked stream.
				if unsaved {
					if err := r.saveCheckpoint(ctx, lc, cp); err != nil {
						return err
					}
					unsaved = false
				}
				if err := r.block(ctx, lc, batch[n], *refused); err != nil {
					return err
				}
				continue
			}
			if publishErr != nil {
				if ctx.Err() != nil || !failed(publishErr, batch[n:]) {
					return ctx.Err()
				}
				continue // re-read from the same checkpoint: same events first
			}
			publishDelay = r.cfg.PublishRetryInterval
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// Events are flowing: read on without waiting while batches
			// come full, and wait briefly again once they stop. A batch
			// shorter than BatchSize took everything visible when it was
			// read: what came since signals (Appended) or is found after
			// MinPollInterval, instead of by an empty read now.
			r.metrics.waiting(batch[len(batch)-1].CreatedAt)
			pollDelay = r.cfg.MinPollInterval
			if len(batch) == r.cfg.BatchSize || !read.heldAt.IsZero() {
				continue
			}
			woken, live := r.wait(ctx, pollDelay)
			if !live {
				return ctx.Err()
			}
			if !woken {
				pollDelay = min(2*pollDelay, r.cfg.PollInterval)
			}
			continue
		}

		r.metrics.waiting(read.heldAt)
		wait := pollDelay
		limit := r.cfg.PollInterval
		if !read.heldAt.IsZero() {
			limit = min(limit, maxHeldRetryInterval)
		}
		pollDelay = min(2*pollDelay, limit)
		woken, live := r.wait(ctx, min(wait, limit))
		if !live {
			return ctx.Err()
		}
		if woken {
			pollDelay = r.cfg.MinPollInterval
		}
	}
}

// wait sleeps d, or less if a writer of this process signals an append
// (woken: then it waits WakeDelay more, for the append's commit and the
// appends that follow it). live is false once ctx ended.
func (r *Relay) wait(ctx context.Context, d time.Duration) (woken, live bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false, false
	case <-t.C:
		return false, true
	case <-r.cfg.Appended:
		if r.cfg.WakeDelay > 0 {
			return true, pause.For(ctx, r.cfg.WakeDelay)
		}
		return true, true
	}
}

// advance returns the checkpoint after published, a prefix of the batch
// now in Kafka, for the caller to store (with the next read, or
// saveCheckpoint).
func (r *Relay) advance(published []eventstore.Record) checkpoint {
	last := published[len(published)-1]
	next := checkpoint{TransactionID: last.TransactionID, Position: last.Position}
	r.metrics.published.Add(float64(len(published)))
	r.metrics.batches.Inc()
	r.metrics.lastPosition.Set(float64(last.Position))
	r.logger.Debug("events published", "events", len(published), "transaction_id", next.TransactionID, "position", next.Position)
	return next
}

// saveCheckpoint stores cp in a round trip of its own, even while ctx
// ends.
func (r *Relay) saveCheckpoint(ctx context.Context, lc *lockConn, cp checkpoint) error {
	saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkpointSaveTimeout)
	defer cancel()
	return r.checkpoints.save(saveCtx, lc.conn, cp)
}

// publishInOrder publishes batch and returns how many events from its
// start are in Kafka and, when the broker refused the next one for good,
// that refusal (of batch[n]). The events after batch[n] may have been
// published too; the caller publishes them again (at least once).
//
// A broker refuses a partition's whole record batch at once, so the events
// the publisher names may include innocent neighbours of the culprit: the
// events before the first one named are published again on their own,
// then that one alone, which is refused only if it is the culprit itself.
func (r *Relay) publishInOrder(ctx context.Context, batch []eventstore.Record) (int, *Refusal, error) {
	err := r.publisher.Publish(ctx, r.cfg.Topic, batch)
	if err == nil {
		return len(batch), nil, nil
	}
	var refusedErr *RefusedError
	if !errors.As(err, &refusedErr) {
		return 0, nil, err
	}
	first := -1
	var refusal Refusal
	for i, e := range batch {
		if ref, ok := refusedErr.refusedFor(e.EventID); ok {
			first, refusal = i, ref
			break
		}
	}
	switch {
	case first < 0:
		return 0, nil, fmt.Errorf("refusal names no event of the batch: %w", err)
	case len(batch) == 1:
		return 0, &refusal, nil
	}
	if first > 0 {
		n, ref, err := r.publishInOrder(ctx, batch[:first])
		if n < first || ref != nil || err != nil {
			return n, ref, err
		}
	}
	n, ref, err := r.publishInOrder(ctx, batch[first:first+1])
	return first + n, ref, err
}

// block records that the broker refused e for good. From now on the relay
// publishes nothing more of e's stream, so nothing of it out of order,
// while every other stream flows: the stream's events wait in the event
// store, where they always were, and the checkpoint moves past them.
//
// The blocked stream is also a dead letter (Config.DeadLetters, handler
// "<schema>.relay"). An operator unblocks the stream by removing the cause
// (e.g. raising the topic's max.message.bytes and the producer's limit
// together) and then replaying it (orderflow deadletters replay, or the
// replayDeadLetters mutation), which asks for a retry:
//
//	UPDATE <schema>.relay_blocked_streams SET retry_requested_at = now()
//	WHERE relay = 'kafka' AND stream_id = '<stream id>';
//
// The active relay then publishes the stream's waiting events in order
// (retryBlocked); a row must never be deleted by hand, which would lose
// them.
func (r *Relay) block(ctx context.Context, lc *lockConn, e eventstore.Record, refusal Refusal) error {
	saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkpointSaveTimeout)
	newly, err := r.blocked.block(saveCtx, lc.conn, e, refusal)
	cancel()
	if err != nil {
		return err
	}
	r.metrics.refused.Inc()
	if newly {
		r.metrics.blocked.Inc()
	}
	r.logger.Error("event refused by the broker for good, its stream is blocked",
		"stream_id", e.StreamID, "stream_type", e.StreamType, "event_id", e.EventID, "event_type", e.EventType,
		"version", e.Version, "position", e.Position, "transaction_id", e.TransactionID,
		"size_bytes", refusal.Size, "error", refusal.Err, "error_class", deadletter.Permanent, "table", r.cfg.Schema+".relay_blocked_streams")
	if r.cfg.DeadLetters != nil {
		m := deadletter.Message{Handler: DeadLetterHandler(r.cfg.Schema), Topic: r.cfg.Topic, Partition: -1, Offset: e.Position,
			Key: e.StreamID, MessageID: e.EventID.String(), Type: e.EventType, Payload: e.Data, Headers: e.Metadata}
		saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkpointSaveTimeout)
		defer cancel()
		if err := r.cfg.DeadLetters.Mirror(saveCtx, m, refusal.Err); err != nil {
			// The relay's table holds the stream back regardless; the next
			// refusal (a replay refused again) records it once more.
			r.logger.Error("blocked stream not recorded as a dead letter", "stream_id", e.StreamID, "event_id", e.EventID, "error", err)
		}
	}
	return nil
}

// retryBlocked publishes, in order, the events a blocked stream left
// behind (from its refused event up to the checkpoint; later ones are
// still ahead of the read) and unblocks it once they are all out. Refused
// again, the stream stays blocked at that event and the retry request is
// cleared. publishErr is a transient failure (retried like any other, from
// the refused event again), with the events it concerned; err ends the
// session.
func (r *Relay) retryBlocked(ctx context.Context, lc *lockConn, cp checkpoint, head blockedHead) (events []eventstore.Record, publishErr, err error) {
	r.logger.Info("retrying blocked stream", "stream_id", head.streamID, "version", head.version)
	from := head.version
	for {
		events, err := r.events.readStream(ctx, lc.conn, head.streamID, from, cp, r.cfg.BatchSize)
		if err != nil {
			return nil, nil, err
		}
		if len(events) == 0 {
			if err := r.blocked.unblock(ctx, lc.conn, head.streamID); err != nil {
				return nil, nil, err
			}
			r.metrics.blocked.Dec()
			r.logger.Info("blocked stream published, unblocked", "stream_id", head.streamID, "from_version", head.version, "to_version", from-1)
			if r.cfg.DeadLetters != nil {
				if err := r.cfg.DeadLetters.Resolve(ctx, DeadLetterHandler(r.cfg.Schema), head.streamID); err != nil {
					r.logger.Error("unblocked stream not resolved in the dead-letter store", "stream_id", head.streamID, "error", err)
				}
			}
			return nil, nil, nil
		}
		n, refused, publishErr := r.publishInOrder(ctx, events)
		r.metrics.published.Add(float64(n))
		if refused != nil {
			return nil, nil, r.block(ctx, lc, events[n], *refused)
		}
		if publishErr != nil {
			return events[n:], publishErr, nil
		}
		from = events[len(events)-1].Version + 1
	}
}

// oldest is the earliest append time in batch.
func oldest(batch []eventstore.Record) time.Time {
	at := batch[0].CreatedAt
	for _, e := range batch[1:] {
		if e.CreatedAt.Before(at) {
			at = e.CreatedAt
		}
	}
	return at
}
