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
//     <schema>.relay_checkpoints; a crash in between publishes the batch
//     again after restart. Consumers dedupe by the event id header
//     (messages.HeaderEventID, also the watermill message UUID).
//   - One active instance per relay. A session-level advisory lock, held on
//     a dedicated connection that also carries every read and checkpoint
//     write; standbys retry every LockRetryInterval and take over when the
//     holder's session ends. A relay whose session breaks stops publishing
//     at once and must win the lock again before it continues.
//   - Low latency without notifications. The relay reads again at once
//     after publishing a batch and, when it finds nothing, backs off from
//     MinPollInterval to PollInterval (50 ms by default). It used to LISTEN
//     for a NOTIFY trigger on the events table (migration 00002, dropped by
//     00005): PostgreSQL serialises the commits of all notifying
//     transactions behind one lock, which cost the appenders more than
//     polling costs the relay (docs/benchmarks.md).
package outbox

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderflow/orderflow/command/eventstore"
)

// checkpointSaveTimeout bounds the checkpoint write that follows a publish;
// it runs even while the relay stops, so a graceful stop re-publishes
// nothing.
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
		events:      newEventReader(cfg.Schema),
		checkpoints: newCheckpointStore(cfg.Schema, cfg.Name),
	}, nil
}

// Run publishes until ctx ends, then returns nil. Lost connections, a lost
// lock and failed publishes are logged and retried, never skipped, so Run
// has no other way to end: a relay that is unhealthy says so through its
// metrics (relay_active, relay_lag_seconds, relay_publish_errors_total).
func (r *Relay) Run(ctx context.Context) error {
	r.logger.Info("relay started")
	for {
		err := r.runSession(ctx)
		if ctx.Err() != nil {
			r.logger.Info("relay stopped")
			return nil
		}
		r.logger.Warn("relay session ended, reconnecting", "error", err, "retry_in", r.cfg.LockRetryInterval)
		if !sleep(ctx, r.cfg.LockRetryInterval) {
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
		if !sleep(ctx, r.cfg.LockRetryInterval) {
			return ctx.Err()
		}
	}
}

// publish is the active relay's loop: read a batch below the horizon,
// publish it in one call, store the checkpoint, and read again at once.
// When a read finds nothing it waits MinPollInterval, doubling on every
// further empty read up to PollInterval (10 ms while events are held),
// so a busy relay never sleeps between batches and an idle one costs a few
// cheap queries per PollInterval. It returns only with an error (ctx
// ended, session broken).
func (r *Relay) publish(ctx context.Context, lc *lockConn, cp checkpoint) error {
	pollDelay := r.cfg.MinPollInterval
	publishDelay := r.cfg.PublishRetryInterval
	for {
		batch, heldAt, err := r.events.read(ctx, lc.conn, cp, r.cfg.BatchSize)
		if err != nil {
			return err
		}
		if len(batch) > 0 {
			r.metrics.waiting(oldest(batch))
			if err := r.publisher.Publish(ctx, r.cfg.Topic, batch); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				r.metrics.publishErrors.Inc()
				r.logger.Error("publish failed, retrying the same events", "error", err, "events", len(batch),
					"first_event_id", batch[0].EventID, "first_position", batch[0].Position, "retry_in", publishDelay)
				if !sleep(ctx, publishDelay) {
					return ctx.Err()
				}
				publishDelay = min(2*publishDelay, r.cfg.MaxPublishRetryInterval)
				continue // re-read from the same checkpoint: same events first
			}
			publishDelay = r.cfg.PublishRetryInterval

			last := batch[len(batch)-1]
			next := checkpoint{TransactionID: last.TransactionID, Position: last.Position}
			saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkpointSaveTimeout)
			err := r.checkpoints.save(saveCtx, lc.conn, next)
			cancel()
			if err != nil {
				return err
			}
			cp = next
			r.metrics.published.Add(float64(len(batch)))
			r.metrics.batches.Inc()
			r.metrics.lastPosition.Set(float64(last.Position))
			r.logger.Debug("events published", "events", len(batch), "transaction_id", cp.TransactionID, "position", cp.Position)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// Events are flowing: read on without waiting, and wait
			// briefly again once they stop.
			r.metrics.waiting(last.CreatedAt)
			pollDelay = r.cfg.MinPollInterval
			continue
		}

		r.metrics.waiting(heldAt)
		wait := pollDelay
		limit := r.cfg.PollInterval
		if !heldAt.IsZero() {
			limit = min(limit, maxHeldRetryInterval)
		}
		pollDelay = min(2*pollDelay, limit)
		if !sleep(ctx, min(wait, limit)) {
			return ctx.Err()
		}
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

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
