package projections

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/projections/documents"
)

// ErrRebuildRunning refuses a second rebuild (or a cancel) of a projection
// whose rebuild is running in another process.
var ErrRebuildRunning = errors.New("a rebuild of this projection is running")

// RebuildOptions tune a rebuild; the zero value is usable.
type RebuildOptions struct {
	// BatchSize is the number of events read from the event store at once
	// (default 5000).
	BatchSize int
	// Workers is the number of bulk requests in flight (default 4).
	Workers int
	// CacheSize is how many documents stay in memory between batches, so
	// streams whose events are close together are not read back from
	// Elasticsearch (default 50000).
	CacheSize int
	// Replicas is the replica count of the new index (default 0).
	Replicas int
	// Progress, when set, is called at most every ProgressInterval
	// (default one second) and once per phase change.
	Progress         func(RebuildProgress)
	ProgressInterval time.Duration
	// Restart abandons an unfinished rebuild (its index stays, for
	// DropIndex) and starts afresh instead of resuming it.
	Restart bool
}

func (o *RebuildOptions) defaults() {
	if o.BatchSize <= 0 {
		o.BatchSize = 5000
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 50000
	}
	if o.ProgressInterval <= 0 {
		o.ProgressInterval = time.Second
	}
}

// Rebuild phases, as reported in RebuildProgress.
const (
	// PhaseCopying: replaying the event store into the new index.
	PhaseCopying = "copying"
	// PhaseSwapping: caught up; the alias moves to the new index.
	PhaseSwapping = "swapping"
	// PhaseDone: the alias points at the new index.
	PhaseDone = "done"
)

// RebuildProgress is a rebuild's progress report.
type RebuildProgress struct {
	Projection Name
	Index      string
	Phase      string
	// Resumed is true when this run continues an interrupted rebuild.
	Resumed bool
	// Position is the last event store position projected; Head the
	// newest position when last looked.
	Position int64
	Head     int64
	// Events counts the events read by this run, Documents the documents
	// written.
	Events    int64
	Documents int64
	Elapsed   time.Duration
	// Rate is events per second over this run; ETA the time to reach Head
	// at that rate.
	Rate float64
	ETA  time.Duration
}

// RebuildResult sums up a finished rebuild.
type RebuildResult struct {
	Projection Name
	// Index is the new live index; Previous the one it replaced, kept
	// until DropIndex.
	Index     string
	Previous  string
	Events    int64
	Documents int64
	Duration  time.Duration
	Rate      float64
	// Refused names the documents Elasticsearch refused for good (sorted
	// ids); each stays in the new index at its last accepted version, or
	// absent, and is logged with the reason.
	Refused []string
}

// Rebuild replays projection n's event store (the context's events in
// position order) into a new physical index and moves the alias to it:
//
//  1. create the index from the current mapping (no refresh while
//     copying) and point the rebuild alias at it, then wait RebuildSettle
//     so every live projector writes to it as well from now on;
//  2. read batches of events, fold them (documents of recent streams stay
//     in memory, others are read back) and bulk write them with external
//     versions, recording the position after every batch;
//  3. once the head as it was when the pass began is reached (or a read
//     comes back empty), give the index its refresh interval back (the
//     mapping file's, or Elasticsearch's default: mappingRefreshInterval),
//     refresh, catch up again to the head and swap the alias in one
//     atomic _aliases request, removing the rebuild alias with it;
//  4. catch up once more: events committed between the last read and the
//     swap are written again, which external versioning makes harmless.
//
// Readers always see a complete index: the old one until the swap, the new
// one after. Events that commit out of position order behind the
// rebuild's cursor are written by the live projector, which writes to the
// rebuild alias throughout. The old index is kept (DropIndex removes it).
//
// A rebuild that fails or crashes resumes from its recorded position when
// Rebuild is called again (unless Restart). One rebuild per projection
// runs at a time, across processes.
//
// A document Elasticsearch refuses for good does not stop the rebuild:
// retrying it cannot help, and failing would keep every other document of
// the new index (often built to fix a mapping) from going live. The
// document keeps its last accepted version in the new index, the same as
// the live projector's hold leaves it in the old one; the rest of its
// stream is skipped for this run, and it is logged and named in
// RebuildResult.Refused, so an operator can re-project it once the cause
// is removed. The rebuild records no hold: its index is not live yet, and
// after the swap the live projector holds the aggregate itself on its
// next refused write.
func (p *Projector) Rebuild(ctx context.Context, n Name, opts RebuildOptions) (RebuildResult, error) {
	opts.defaults()
	d, err := p.definition(n)
	if err != nil {
		return RebuildResult{}, err
	}
	pool := p.pool(d.context)
	alias := p.ix.alias(n)
	held, release, err := tryAdvisoryLock(ctx, pool, "orderflow.projections.rebuild."+alias)
	if err != nil {
		return RebuildResult{}, err
	}
	if !held {
		return RebuildResult{}, fmt.Errorf("rebuild %s: %w", n, ErrRebuildRunning)
	}
	defer release()

	r := &rebuildRun{p: p, d: d, opts: opts, store: rebuildStore{pool: pool}, started: time.Now(), lastReport: time.Now()}
	if err := r.prepare(ctx); err != nil {
		return RebuildResult{}, fmt.Errorf("rebuild %s: %w", n, err)
	}
	if r.state.Phase == phaseDone {
		return r.result(), nil
	}
	if err := r.copy(ctx); err != nil {
		return RebuildResult{}, fmt.Errorf("rebuild %s into %s: %w", n, r.state.Target, err)
	}
	if err := r.swap(ctx); err != nil {
		return RebuildResult{}, fmt.Errorf("rebuild %s into %s: %w", n, r.state.Target, err)
	}
	if err := r.copy(ctx); err != nil {
		return RebuildResult{}, fmt.Errorf("rebuild %s: catch up after the swap: %w", n, err)
	}
	r.report(PhaseDone, true)
	p.logger.Info("projection rebuilt", "projection", n, "index", r.state.Target, "previous", r.state.Previous,
		"events", r.events, "documents", r.docs, "duration", time.Since(r.started))
	return r.result(), nil
}

// CancelRebuild abandons projection n's unfinished rebuild: the rebuild
// alias is removed (live projectors stop writing there) and the index is
// kept for DropIndex. It fails with ErrRebuildRunning while a process is
// still running it.
func (p *Projector) CancelRebuild(ctx context.Context, n Name) error {
	d, err := p.definition(n)
	if err != nil {
		return err
	}
	pool := p.pool(d.context)
	alias := p.ix.alias(n)
	held, release, err := tryAdvisoryLock(ctx, pool, "orderflow.projections.rebuild."+alias)
	if err != nil {
		return err
	}
	if !held {
		return fmt.Errorf("cancel rebuild of %s: %w", n, ErrRebuildRunning)
	}
	defer release()
	store := rebuildStore{pool: pool}
	st, err := store.open(ctx, alias)
	if err != nil || st == nil {
		return err
	}
	return p.abandon(ctx, store, st)
}

func (p *Projector) abandon(ctx context.Context, store rebuildStore, st *RebuildState) error {
	if err := p.ix.updateAliases(ctx, aliasAction{index: "*", alias: p.ix.rebuildAlias(st.Projection), ignore: true}); err != nil {
		return err
	}
	p.forgetTargets(st.Projection)
	if err := store.finish(ctx, st.ID, phaseCancelled, ""); err != nil {
		return err
	}
	p.logger.Info("rebuild cancelled", "projection", st.Projection, "index", st.Target)
	return nil
}

// RebuildStatus returns projection n's unfinished rebuild, or else its
// latest one; nil if it was never rebuilt.
func (p *Projector) RebuildStatus(ctx context.Context, n Name) (*RebuildState, error) {
	d, err := p.definition(n)
	if err != nil {
		return nil, err
	}
	store := rebuildStore{pool: p.pool(d.context)}
	if st, err := store.open(ctx, p.ix.alias(n)); err != nil || st != nil {
		return st, err
	}
	return store.latest(ctx, p.ix.alias(n))
}

// rebuildRun is one call of Rebuild.
type rebuildRun struct {
	p     *Projector
	d     *definition
	opts  RebuildOptions
	store rebuildStore
	state *RebuildState

	resumed bool
	caches  []*docCache
	// refused are, per worker, the documents refused for good (by id):
	// a stream hashes to one worker, which skips its later events.
	refused    []map[string]bool
	seed       maphash.Seed
	started    time.Time
	lastReport time.Time
	events     int64
	docs       int64
	head       int64
}

// prepare resumes the open rebuild or starts a new one.
func (r *rebuildRun) prepare(ctx context.Context) error {
	ix, n := r.p.ix, r.d.name
	st, err := r.store.open(ctx, ix.alias(n))
	if err != nil {
		return err
	}
	if st != nil && r.opts.Restart {
		if err := r.p.abandon(ctx, r.store, st); err != nil {
			return err
		}
		st = nil
	}
	if st != nil {
		live, err := ix.aliasIndexes(ctx, ix.alias(n))
		if err != nil {
			return err
		}
		exists, err := ix.exists(ctx, st.Target)
		if err != nil {
			return err
		}
		switch {
		case len(live) == 1 && live[0] == st.Target:
			// Crashed after the swap, before recording it.
			if err := ix.updateAliases(ctx, aliasAction{index: "*", alias: ix.rebuildAlias(n), ignore: true}); err != nil {
				return err
			}
			if err := r.store.finish(ctx, st.ID, phaseDone, ""); err != nil {
				return err
			}
			st.Phase = phaseDone
			r.state = st
			return nil
		case !exists:
			r.p.logger.Warn("rebuild index vanished; starting afresh", "projection", n, "index", st.Target)
			if err := r.p.abandon(ctx, r.store, st); err != nil {
				return err
			}
			st = nil
		}
	}
	if st != nil {
		r.state, r.resumed = st, true
		r.p.logger.Info("rebuild resumed", "projection", n, "index", st.Target, "position", st.Position)
	} else {
		// No alias yet (EnsureIndexes never ran) is fine: the swap
		// creates it.
		live, err := ix.aliasIndexes(ctx, ix.alias(n))
		if err != nil {
			return err
		}
		previous := ""
		if len(live) == 1 {
			previous = live[0]
		}
		target := ix.newIndexName(r.d, time.Now())
		if err := ix.create(ctx, r.d, target, r.opts.Replicas, "-1"); err != nil {
			return err
		}
		if r.state, err = r.store.start(ctx, n, ix.alias(n), target, previous); err != nil {
			return err
		}
		r.p.logger.Info("rebuild started", "projection", n, "index", target, "previous", previous)
	}
	// (Re)point the rebuild alias, then give every live projector time to
	// notice it before reading, so no event falls between the two.
	if err := ix.updateAliases(ctx,
		aliasAction{index: "*", alias: ix.rebuildAlias(n), ignore: true},
		aliasAction{add: true, index: r.state.Target, alias: ix.rebuildAlias(n)},
	); err != nil {
		return err
	}
	r.p.forgetTargets(n)
	select {
	case <-time.After(r.p.cfg.RebuildSettle):
	case <-ctx.Done():
		return ctx.Err()
	}
	r.seed = maphash.MakeSeed()
	r.caches = make([]*docCache, r.opts.Workers)
	r.refused = make([]map[string]bool, r.opts.Workers)
	for i := range r.caches {
		r.caches[i] = newDocCache(max(1, r.opts.CacheSize/r.opts.Workers))
		r.refused[i] = map[string]bool{}
	}
	return nil
}

// copy projects every event after the recorded position until a read
// comes back empty. Reading runs one batch ahead of writing.
func (r *rebuildRun) copy(ctx context.Context) error {
	pool := r.p.pool(r.d.context)
	es := eventstore.New(pool, string(r.d.context))
	// A pass ends at the head as it is now: events committed meanwhile
	// are the next pass's (or the live projector's, which writes to the
	// rebuild alias throughout), so a rebuild ends however fast orders
	// keep coming.
	end, err := headPosition(ctx, pool, string(r.d.context))
	if err != nil {
		return err
	}
	r.head = end
	g, ctx := errgroup.WithContext(ctx)
	batches := make(chan []eventstore.Record, 2)
	from := r.state.Position
	g.Go(func() error {
		defer close(batches)
		pos := from
		for {
			records, err := es.ReadAll(ctx, pos, r.opts.BatchSize)
			if err != nil {
				return err
			}
			if len(records) == 0 {
				return nil
			}
			pos = records[len(records)-1].Position
			select {
			case batches <- records:
			case <-ctx.Done():
				return ctx.Err()
			}
			if pos >= end {
				return nil
			}
		}
	})
	g.Go(func() error {
		for records := range batches {
			if err := r.projectBatch(ctx, records); err != nil {
				return err
			}
			r.state.Position = records[len(records)-1].Position
			r.events += int64(len(records))
			r.state.Events += int64(len(records))
			if err := r.store.progress(ctx, r.state.ID, r.state.Position, r.state.Events); err != nil {
				return err
			}
			if time.Since(r.lastReport) >= r.opts.ProgressInterval {
				if head, err := headPosition(ctx, pool, string(r.d.context)); err == nil {
					r.head = head
				}
				r.report(PhaseCopying, false)
			}
		}
		return nil
	})
	return g.Wait()
}

// projectBatch folds and writes one batch, its streams spread over the
// workers by hash, so each stream's document lives in one worker's cache.
// Streams that fail are retried a few times before the batch fails.
func (r *rebuildRun) projectBatch(ctx context.Context, records []eventstore.Record) error {
	shards := make([][]documents.Event, r.opts.Workers)
	for _, rec := range records {
		if rec.StreamType != r.d.streamType {
			continue
		}
		e, err := EventFromRecord(rec)
		if err != nil {
			return err
		}
		i := int(maphash.String(r.seed, e.StreamID) % uint64(len(shards)))
		if r.refused[i][e.StreamID] {
			continue
		}
		shards[i] = append(shards[i], e)
	}
	g, ctx := errgroup.WithContext(ctx)
	docs := make([]int64, len(shards))
	for i, events := range shards {
		if len(events) == 0 {
			continue
		}
		g.Go(func() error {
			n, err := r.projectShard(ctx, i, events)
			docs[i] = n
			return err
		})
	}
	err := g.Wait()
	for _, n := range docs {
		r.docs += n
	}
	return err
}

func (r *rebuildRun) projectShard(ctx context.Context, shard int, events []documents.Event) (int64, error) {
	targets := []target{{index: r.state.Target}}
	var written int64
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		out, err := r.d.engine.project(ctx, r.p, r.d, targets, events, projectOptions{cache: r.caches[shard]})
		written += int64(out.written)
		for id, ref := range out.refused {
			r.refused[shard][id] = true
			r.p.logger.Error("document refused by elasticsearch for good, the rebuild carries on without it",
				"projection", r.d.name, "index", ref.index, "document_id", id, "version", ref.version,
				"event_type", ref.eventType, "error_type", ref.err.Type, "reason", ref.err.Reason)
		}
		if err == nil && len(out.failed) == 0 {
			return written, nil
		}
		if err == nil {
			err = out.err()
			var retry []documents.Event
			for _, e := range events {
				if out.failed[e.StreamID] != nil {
					retry = append(retry, e)
				}
			}
			events = retry
		}
		if attempt == 5 || ctx.Err() != nil {
			return written, err
		}
		r.p.logger.Warn("rebuild batch failed; retrying", "projection", r.d.name, "attempt", attempt, "error", err)
		select {
		case <-time.After(backoff):
			backoff *= 2
		case <-ctx.Done():
			return written, ctx.Err()
		}
	}
}

// swap makes the new index searchable, catches up and moves the alias.
func (r *rebuildRun) swap(ctx context.Context) error {
	ix, n := r.p.ix, r.d.name
	r.report(PhaseSwapping, true)
	if err := ix.putSettings(ctx, r.state.Target, map[string]any{"refresh_interval": mappingRefreshInterval(r.d.mappingFile)}); err != nil {
		return err
	}
	if err := ix.refresh(ctx, r.state.Target); err != nil {
		return err
	}
	// The refresh took a while; catch up once more so the swap lands as
	// close to the head as possible.
	if err := r.copy(ctx); err != nil {
		return err
	}
	live, err := ix.aliasIndexes(ctx, ix.alias(n))
	if err != nil {
		return err
	}
	actions := []aliasAction{}
	for _, old := range live {
		if old != r.state.Target {
			actions = append(actions, aliasAction{index: old, alias: ix.alias(n)})
		}
	}
	actions = append(actions,
		aliasAction{add: true, index: r.state.Target, alias: ix.alias(n)},
		aliasAction{index: r.state.Target, alias: ix.rebuildAlias(n), ignore: true},
	)
	if err := ix.updateAliases(ctx, actions...); err != nil {
		return err
	}
	r.p.forgetTargets(n)
	previous := r.state.Previous
	if len(live) == 1 && live[0] != r.state.Target {
		previous = live[0]
	}
	r.state.Previous, r.state.Phase = previous, phaseDone
	return r.store.finish(ctx, r.state.ID, phaseDone, previous)
}

func (r *rebuildRun) report(phase string, force bool) {
	if r.opts.Progress == nil || (!force && time.Since(r.lastReport) < r.opts.ProgressInterval) {
		return
	}
	r.lastReport = time.Now()
	elapsed := time.Since(r.started)
	p := RebuildProgress{
		Projection: r.d.name, Index: r.state.Target, Phase: phase, Resumed: r.resumed,
		Position: r.state.Position, Head: max(r.head, r.state.Position), Events: r.events, Documents: r.docs, Elapsed: elapsed,
	}
	if secs := elapsed.Seconds(); secs > 0 {
		p.Rate = float64(r.events) / secs
	}
	if p.Rate > 0 {
		p.ETA = time.Duration(float64(p.Head-p.Position) / p.Rate * float64(time.Second))
	}
	r.opts.Progress(p)
}

func (r *rebuildRun) result() RebuildResult {
	d := time.Since(r.started)
	res := RebuildResult{Projection: r.d.name, Index: r.state.Target, Previous: r.state.Previous, Events: r.events, Documents: r.docs, Duration: d}
	for _, refused := range r.refused {
		for id := range refused {
			res.Refused = append(res.Refused, id)
		}
	}
	slices.Sort(res.Refused)
	if d > 0 {
		res.Rate = float64(r.events) / d.Seconds()
	}
	return res
}
