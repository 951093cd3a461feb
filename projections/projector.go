package projections

import (
	"context"
	"errors"
	"fmt"
	"github.com/orderflow/orderflow/internal/breaker"
	"github.com/orderflow/orderflow/internal/deadletter"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderflow/orderflow/internal/config"
	"github.com/orderflow/orderflow/projections/documents"
)

// Config is what the projections need: the process configuration (index,
// topic and consumer group names, Kafka brokers), Elasticsearch, and the
// database of every bounded context (event stores, rebuild progress).
type Config struct {
	// Settings names indexes (Index), topics (Topic) and consumer groups
	// (ConsumerGroup) and locates Kafka, for Status.
	Settings config.Config
	Elastic  *elasticsearch.Client
	// Pools maps each bounded context to the pool of its database, as
	// service.Service.Pools does.
	Pools map[config.Context]*pgxpool.Pool
	// Metrics receives the projection metrics; nil registers nothing.
	Metrics prometheus.Registerer
	Logger  *slog.Logger

	// AliasTTL is how long the live projector trusts its view of which
	// aliases to write to. A rebuild waits RebuildSettle (longer) after
	// creating its alias before it reads, so every projector writes to
	// the rebuild's index before the rebuild starts reading.
	AliasTTL time.Duration
	// RebuildSettle is that wait; it must exceed AliasTTL.
	RebuildSettle time.Duration
	// MaxBatch caps the events one bulk request of the live projector
	// carries.
	MaxBatch int
	// BatchLinger is how long the live projector waits for more events to
	// share a bulk request with (consumer.Config.CombineLinger).
	// DefaultConfig's 20 ms (2 ms before) cut Elasticsearch's CPU per
	// order from 3.0 to 2.1 ms at 100 orders/s and from 1.6 to 1.1 ms at
	// 167/s (docs/benchmarks.md, "2026-12-01, morning"); the read model
	// trails the event store by that much more, and no order's end-to-end
	// time waits for it.
	BatchLinger time.Duration
	// FetchWait is how long the projector's consumers let Kafka hold a
	// fetch for more events (consumer.Config.FetchWait). DefaultConfig's
	// 100 ms (0 before: a fetch answered per record) cut CPU per order at
	// 100 orders/s from 16.3 to 14.4 ms for all processes, Elasticsearch's
	// from 2.4 to 1.5 ms (fewer, fuller bulk requests), Kafka's and
	// orderflow's by about 0.3 ms each (docs/benchmarks.md,
	// "2026-12-01, late morning"). The read model trails the event store
	// by up to that much more, and so does a read that waits for its own
	// write (WaitForOrderVersion); no order's end-to-end time waits for it.
	FetchWait time.Duration
	// DeadLetters, when set, shows the held documents in the dead-letter
	// store (handler DocumentsHandler(name)), where an operator replays
	// them (Reproject); projections.held_documents stays the truth of
	// what the projector skips.
	DeadLetters DeadLetters
	// Breaker, when set, is the circuit breaker in Elastic's transport: a
	// batch that fails while Elasticsearch fails is Unavailable (the
	// consumer pauses), not the events' fault.
	Breaker *breaker.Breaker
	// CacheSize bounds the documents the live projector keeps per
	// projection, so that folding the next events of a stream needs no
	// realtime read from Elasticsearch (which refreshes the shard's reader
	// whenever the document changed since the last refresh). 0 disables it.
	CacheSize int
}

// DefaultConfig fills the tuning fields with what orderflow runs with.
func DefaultConfig(settings config.Config, es *elasticsearch.Client, pools map[config.Context]*pgxpool.Pool, reg prometheus.Registerer, logger *slog.Logger) Config {
	return Config{
		Settings: settings, Elastic: es, Pools: pools, Metrics: reg, Logger: logger,
		AliasTTL: time.Second, RebuildSettle: 3 * time.Second, MaxBatch: 500, BatchLinger: 20 * time.Millisecond,
		FetchWait: 100 * time.Millisecond,
		CacheSize: 20000,
	}
}

func (c *Config) validate() error {
	var errs []error
	if c.Elastic == nil {
		errs = append(errs, errors.New("no elasticsearch client"))
	}
	for _, ctx := range config.Contexts() {
		if c.Pools[ctx] == nil {
			errs = append(errs, fmt.Errorf("no database pool for context %s", ctx))
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.AliasTTL <= 0 {
		c.AliasTTL = time.Second
	}
	if c.RebuildSettle <= c.AliasTTL {
		errs = append(errs, fmt.Errorf("rebuild settle time %s must exceed the alias ttl %s", c.RebuildSettle, c.AliasTTL))
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 500
	}
	if c.BatchLinger < 0 {
		c.BatchLinger = 0
	}
	if c.FetchWait < 0 {
		c.FetchWait = 0
	}
	return errors.Join(errs...)
}

// Projector maintains the read-model indexes: it applies events (from the
// Kafka handlers, or directly), heals gaps from the event store, and runs
// index maintenance and rebuilds. One Projector per process is enough; it
// is safe for concurrent use.
type Projector struct {
	cfg       Config
	es        *elasticsearch.Client
	ix        indexes
	defs      map[Name]*definition
	customers *customerDirectory
	metrics   *metrics
	logger    *slog.Logger

	viewMu sync.Mutex
	views  map[Name]targetView

	// live are the live projections' document caches (nil when disabled).
	live map[Name]*docCache
}

type targetView struct {
	targets []target
	at      time.Time
}

// New returns a projector; it touches no server until used.
func New(cfg Config) (*Projector, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("projections config: %w", err)
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	p := &Projector{
		cfg: cfg, es: cfg.Elastic, logger: cfg.Logger, metrics: m,
		ix:        indexes{es: cfg.Elastic, name: cfg.Settings.Index},
		customers: newCustomerDirectory(cfg.Pools[config.Payments], 50000),
		views:     map[Name]targetView{},
		live:      map[Name]*docCache{},
	}
	if cfg.CacheSize > 0 {
		for _, n := range Names() {
			p.live[n] = newDocCache(cfg.CacheSize)
		}
	}
	if cfg.Metrics != nil {
		if err := cfg.Metrics.Register(newStatusCollector(p)); err != nil {
			if _, dup := errors.AsType[prometheus.AlreadyRegisteredError](err); !dup {
				return nil, fmt.Errorf("register projection status metrics: %w", err)
			}
		}
	}
	p.defs = map[Name]*definition{
		Orders: {
			name: Orders, context: config.Ordering, streamType: orderStream, handlerName: OrdersHandlerName,
			mappingFile: "orders_v1.json", mappingVersion: 1,
			engine: &docEngine[documents.Order]{
				id: func(d documents.Order) string { return d.ID }, newDoc: documents.NewOrder, fold: documents.FoldOrder,
				version: func(d documents.Order) int { return d.Version }, enrich: enrichOrder,
			},
		},
		Products: {
			name: Products, context: config.Inventory, streamType: productStream, handlerName: ProductsHandlerName,
			mappingFile: "products_v1.json", mappingVersion: 1,
			engine: &docEngine[documents.Product]{
				id: func(d documents.Product) string { return d.ID }, newDoc: documents.NewProduct, fold: documents.FoldProduct,
				version: func(d documents.Product) int { return d.Version },
			},
		},
		Customers: {
			name: Customers, context: config.Payments, streamType: customerStream, handlerName: CustomersHandlerName,
			mappingFile: "customers_v1.json", mappingVersion: 1,
			engine: &docEngine[documents.Customer]{
				id: func(d documents.Customer) string { return d.ID }, newDoc: documents.NewCustomer, fold: documents.FoldCustomer,
				version: func(d documents.Customer) int { return d.Version },
			},
		},
	}
	return p, nil
}

// Alias is the name readers use for projection n (namespaced).
func (p *Projector) Alias(n Name) string { return p.ix.alias(n) }

func (p *Projector) definition(n Name) (*definition, error) {
	d, ok := p.defs[n]
	if !ok {
		return nil, fmt.Errorf("unknown projection %q", n)
	}
	return d, nil
}

func (p *Projector) pool(c config.Context) *pgxpool.Pool { return p.cfg.Pools[c] }

// EnsureIndexes creates, for every projection whose alias does not exist
// yet, a first physical index from the current mapping with the alias on
// it. Concurrent callers (projectors starting together) serialize on a
// PostgreSQL advisory lock, so the alias never ends up on two indexes.
func (p *Projector) EnsureIndexes(ctx context.Context) error {
	for _, n := range Names() {
		if err := p.ensureIndex(ctx, p.defs[n]); err != nil {
			return err
		}
	}
	return nil
}

func (p *Projector) ensureIndex(ctx context.Context, d *definition) error {
	return withAdvisoryLock(ctx, p.pool(d.context), "orderflow.projections.indexes."+p.ix.alias(d.name), func() error {
		existing, err := p.ix.aliasIndexes(ctx, p.ix.alias(d.name))
		if err != nil || len(existing) > 0 {
			return err
		}
		index := p.ix.newIndexName(d, time.Now())
		if err := p.ix.create(ctx, d, index, 0, "", p.ix.alias(d.name)); err != nil {
			return err
		}
		p.logger.Info("projection index created", "projection", d.name, "index", index, "alias", p.ix.alias(d.name))
		return nil
	})
}

// targets are the aliases the live projector writes projection n to: the
// alias readers use, and the alias of a running rebuild's index if there
// is one. The view is cached for AliasTTL.
func (p *Projector) targets(ctx context.Context, n Name) ([]target, error) {
	p.viewMu.Lock()
	v, ok := p.views[n]
	p.viewMu.Unlock()
	if ok && time.Since(v.at) < p.cfg.AliasTTL {
		return v.targets, nil
	}
	live, err := p.ix.aliasIndexes(ctx, p.ix.alias(n))
	if err != nil {
		return nil, err
	}
	if len(live) == 0 {
		return nil, fmt.Errorf("alias %s does not exist: run EnsureIndexes", p.ix.alias(n))
	}
	ts := []target{{index: p.ix.alias(n), alias: true}}
	rebuilding, err := p.ix.aliasIndexes(ctx, p.ix.rebuildAlias(n))
	if err != nil {
		return nil, err
	}
	if len(rebuilding) > 0 && (len(live) != 1 || rebuilding[0] != live[0]) {
		ts = append(ts, target{index: p.ix.rebuildAlias(n), alias: true, optional: true})
	}
	p.viewMu.Lock()
	p.views[n] = targetView{targets: ts, at: time.Now()}
	p.viewMu.Unlock()
	return ts, nil
}

func (p *Projector) forgetTargets(n Name) {
	p.viewMu.Lock()
	delete(p.views, n)
	p.viewMu.Unlock()
}

// Apply projects events of projection n into its live index (and into the
// index of a running rebuild): the projector's apply function, which the
// Kafka handlers call in batches and tests call with crafted input. Events
// may come in any order and repeat; documents end up as the fold of their
// streams either way. It fails if any stream's document could not be
// written; applying the same events again is always safe.
//
// A document Elasticsearch refuses for good (a value its mapping cannot
// hold) does not fail Apply, which would stop the partition for every
// aggregate on it: the aggregate is held instead (see hold), and its later
// events are skipped until Reproject releases it.
func (p *Projector) Apply(ctx context.Context, n Name, events ...documents.Event) error {
	out, err := p.apply(ctx, n, events)
	if err != nil {
		return err
	}
	return out.err()
}

func (p *Projector) apply(ctx context.Context, n Name, events []documents.Event) (outcome, error) {
	d, err := p.definition(n)
	if err != nil {
		return outcome{}, err
	}
	events = d.accept(events, p.logger)
	if len(events) == 0 {
		return outcome{}, nil
	}
	events, err = p.skipHeld(ctx, d, events)
	if err != nil || len(events) == 0 {
		if err != nil {
			p.metrics.errors.WithLabelValues(string(n)).Inc()
		}
		return outcome{}, err
	}
	ts, err := p.targets(ctx, n)
	if err != nil {
		p.metrics.errors.WithLabelValues(string(n)).Inc()
		return outcome{}, err
	}
	start := time.Now()
	out, err := d.engine.project(ctx, p, d, ts, events, projectOptions{cache: p.live[n]})
	p.metrics.observe(n, out, events, time.Since(start))
	if err == nil && len(out.refused) > 0 {
		err = p.hold(ctx, d, out.refused)
	}
	if err != nil || len(out.failed) > 0 {
		// A vanished rebuild alias is one reason to fail: look again.
		p.forgetTargets(n)
		p.metrics.errors.WithLabelValues(string(n)).Inc()
	}
	if err != nil {
		return out, err
	}
	return out, nil
}

// accept drops events that are not of this projection's stream type (they
// would be folded into the wrong kind of document).
func (d *definition) accept(events []documents.Event, logger *slog.Logger) []documents.Event {
	out := events[:0:0]
	for _, e := range events {
		if e.StreamID == "" || (e.StreamType != "" && e.StreamType != d.streamType) {
			logger.Warn("event of another stream type skipped", "projection", d.name, "event_id", e.ID, "stream_type", e.StreamType)
			continue
		}
		out = append(out, e)
	}
	return out
}

// skipHeld drops the events of aggregates whose document is held. The
// document stays as it was before the refused write, a true prefix of its
// stream: nothing is applied out of order or on top of the refused
// version, and nothing is lost, since Reproject folds the whole stream
// from the event store when the aggregate is released.
func (p *Projector) skipHeld(ctx context.Context, d *definition, events []documents.Event) ([]documents.Event, error) {
	_, ids := groupByStream(events)
	held, err := heldStore{pool: p.pool(d.context)}.filter(ctx, p.ix.alias(d.name), ids)
	if err != nil || len(held) == 0 {
		return events, err
	}
	out := events[:0:0]
	for _, e := range events {
		if !held[e.StreamID] {
			out = append(out, e)
			continue
		}
		p.metrics.heldEvents.WithLabelValues(string(d.name)).Inc()
		p.logger.Debug("event skipped behind a held document", "projection", d.name, "document_id", e.StreamID,
			"event_id", e.ID, "event_type", e.Type, "version", e.Version)
	}
	return out, nil
}

// hold records documents Elasticsearch refused for good, so the batch
// (and with it the partition's offset) moves on while these aggregates
// wait: skipHeld leaves their later events out, in this process and every
// other, restarts included.
//
// A held aggregate is also a dead letter (Config.DeadLetters, handler
// DocumentsHandler). An operator releases it by removing the cause (a
// mapping that can hold the value, through a rebuild, or a correcting
// event) and re-projecting it: replaying the dead letter (orderflow
// deadletters replay, the replayDeadLetters mutation) or `orderflow
// rebuild --order <id> <projection>` (Reproject), which writes the whole
// document from the event store and deletes the hold. The holds are
// listed by
//
//	SELECT * FROM projections.held_documents;
func (p *Projector) hold(ctx context.Context, d *definition, refused map[string]refusal) error {
	docs := make([]heldDocument, 0, len(refused))
	for id, r := range refused {
		docs = append(docs, heldDocument{id: id, refusal: r})
	}
	slices.SortFunc(docs, func(a, b heldDocument) int { return strings.Compare(a.id, b.id) })
	if err := (heldStore{pool: p.pool(d.context)}).hold(ctx, p.ix.alias(d.name), d.name, docs); err != nil {
		return err
	}
	for _, doc := range docs {
		p.metrics.refused.WithLabelValues(string(d.name)).Inc()
		p.logger.Error("document refused by elasticsearch for good, its aggregate is held",
			"projection", d.name, "index", doc.index, "document_id", doc.id, "version", doc.version,
			"event_type", doc.eventType, "error_type", doc.err.Type, "reason", doc.err.Reason, "error_class", deadletter.Permanent)
		if p.cfg.DeadLetters == nil {
			continue
		}
		m := deadletter.Message{Handler: DocumentsHandler(d.name), Topic: doc.index, Partition: -1, Offset: int64(doc.version),
			Key: doc.id, MessageID: doc.id, Type: doc.eventType, Payload: []byte{}}
		if err := p.cfg.DeadLetters.Mirror(ctx, m, doc.err); err != nil {
			p.logger.Error("held document not recorded as a dead letter", "projection", d.name, "document_id", doc.id, "error", err)
		}
	}
	return nil
}

// DeadLetters is the dead-letter store as the projector sees it
// (deadletter.Store).
type DeadLetters interface {
	Mirror(ctx context.Context, m deadletter.Message, cause error) error
	Resolve(ctx context.Context, handler, key string) error
}

// DocumentsHandler is the dead-letter handler name of projection n's held
// documents.
func DocumentsHandler(n Name) string { return "projections." + string(n) + ".documents" }

// Reproject rebuilds the document of one stream (an order, product or
// customer id) from the event store alone and writes it to the live index
// (and a running rebuild's), replacing a damaged document of the same
// version. A newer document in the index is left alone. It also releases
// an aggregate that was held because Elasticsearch refused its document,
// once the document is written; refused again, the aggregate stays held
// and Reproject fails with Elasticsearch's reason.
func (p *Projector) Reproject(ctx context.Context, n Name, id string) error {
	d, err := p.definition(n)
	if err != nil {
		return err
	}
	if err := p.reproject(ctx, d, id); err != nil {
		return err
	}
	released, err := heldStore{pool: p.pool(d.context)}.release(ctx, p.ix.alias(n), id)
	if err != nil || !released {
		return err
	}
	p.logger.Info("held document released", "projection", n, "document_id", id)
	if p.cfg.DeadLetters != nil {
		if err := p.cfg.DeadLetters.Resolve(ctx, DocumentsHandler(n), id); err != nil {
			p.logger.Error("released document not resolved in the dead-letter store", "projection", n, "document_id", id, "error", err)
		}
	}
	// The live projector skipped the aggregate's events until the release:
	// write the document once more, with the events that came meanwhile.
	return p.reproject(ctx, d, id)
}

func (p *Projector) reproject(ctx context.Context, d *definition, id string) error {
	ts, err := p.targets(ctx, d.name)
	if err != nil {
		return err
	}
	out, err := d.engine.reproject(ctx, p, d, ts, id)
	if err != nil {
		return err
	}
	if r, ok := out.refused[id]; ok {
		if err := p.hold(ctx, d, out.refused); err != nil {
			return err
		}
		return fmt.Errorf("reproject %s %s: write %s version %d: %w", d.name, id, r.index, r.version, r.err)
	}
	p.logger.Info("document reprojected", "projection", d.name, "id", id, "written", out.written, "newer_in_index", out.stale)
	return out.err()
}

// ReprojectOrder is Reproject for one order.
func (p *Projector) ReprojectOrder(ctx context.Context, orderID string) error {
	return p.Reproject(ctx, Orders, orderID)
}

// Indexes lists the physical indexes of projection n, newest first, saying
// which one is live and which one a rebuild is filling.
func (p *Projector) Indexes(ctx context.Context, n Name) ([]IndexInfo, error) {
	if _, err := p.definition(n); err != nil {
		return nil, err
	}
	return p.ix.list(ctx, n)
}

// DropIndex deletes an old physical index of projection n, such as the one
// a rebuild replaced. It refuses (ErrIndexInUse) while an alias points at
// the index.
func (p *Projector) DropIndex(ctx context.Context, n Name, index string) error {
	if _, err := p.definition(n); err != nil {
		return err
	}
	if err := p.ix.drop(ctx, n, index); err != nil {
		return err
	}
	p.logger.Info("projection index dropped", "projection", n, "index", index)
	return nil
}

// enrichOrder adds the customer's name and email, for free-text search.
// Customers cannot change either, so they are looked up once per order.
func enrichOrder(ctx context.Context, p *Projector, d documents.Order) (documents.Order, error) {
	if d.CustomerID == "" || d.CustomerName != "" || d.CustomerEmail != "" {
		return d, nil
	}
	c, found, err := p.customers.lookup(ctx, d.CustomerID)
	if err != nil {
		return d, fmt.Errorf("look up customer %s of order %s: %w", d.CustomerID, d.ID, err)
	}
	if found {
		d.CustomerName, d.CustomerEmail = c.name, c.email
	}
	return d, nil
}
