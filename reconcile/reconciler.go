package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/command/outbox"
	"github.com/orderflow/orderflow/internal/config"
	"github.com/orderflow/orderflow/internal/pause"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/projections"
	"github.com/orderflow/orderflow/sagas"
)

// ErrRunning refuses a run while another process runs one.
var ErrRunning = errors.New("a reconciliation is running in another process")

// Config tunes the reconciler. Start from DefaultConfig.
type Config struct {
	// Grace is how old a difference must be before it counts: documents,
	// reservations, holds, deadlines and unpublished events younger than
	// this are in flight.
	Grace time.Duration
	// PageSize is the number of streams (orders, products, customers) or
	// sagas compared at once.
	PageSize int
	// ChunkSize is the number of events read at once.
	ChunkSize int
	// MaxFindings bounds the findings of each kind a report lists; the
	// rest are counted (and healed) all the same.
	MaxFindings int
	// DryRun reports without healing anything.
	DryRun bool
	// Interval is how often RunPeriodically runs; 0 turns it off.
	Interval time.Duration
	// FullInterval is how often a periodic run compares every order,
	// product and customer. The periodic runs between compare only those
	// with an event inserted since the run before them began to count
	// (its start less Grace), so their cost follows the traffic, not the
	// history, but for one thing: a product or customer that changed is
	// folded from its first event, so a long-lived hot stream costs its
	// whole history at every run. A full pass over 86,400 orders took 24-26 s
	// and about 1.2 of the development machine's 2 cores.
	// A divergence no event caused (a document lost or changed in
	// Elasticsearch behind the projector's back) waits for the next full
	// run, or for orderflow reconcile, which is always full. 0 makes every
	// periodic run full.
	FullInterval time.Duration
	// PageRest is how long a periodic run rests after each page of
	// orders, products or customers, as a multiple of the time the page
	// took: it runs in the background of live traffic, and a pass flat
	// out takes about 1.2 of the development machine's 2 cores (see
	// FullInterval). 1 spreads a run over twice the time at half the load, 0
	// runs flat out (ORDERFLOW_RECONCILE_PAGE_REST sets it for the
	// workers). orderflow reconcile, which an operator waits for, never
	// rests.
	PageRest float64
}

// DefaultConfig suits a running deployment: a minute of grace (longer than
// a saga's retries of one step and any healthy projection lag), pages of
// 500 streams, a periodic run every 5 minutes and a full one every 6 hours.
func DefaultConfig() Config {
	return Config{Grace: time.Minute, PageSize: 500, ChunkSize: 5000, MaxFindings: 1000, Interval: 5 * time.Minute, FullInterval: 6 * time.Hour, PageRest: 1}
}

func (c Config) validate() error {
	var errs []error
	if c.Grace < 0 {
		errs = append(errs, fmt.Errorf("grace %s is negative", c.Grace))
	}
	if c.PageSize < 1 || c.ChunkSize < 1 || c.MaxFindings < 1 {
		errs = append(errs, fmt.Errorf("page size %d, chunk size %d and max findings %d must be at least 1", c.PageSize, c.ChunkSize, c.MaxFindings))
	}
	if c.Interval < 0 {
		errs = append(errs, fmt.Errorf("interval %s is negative", c.Interval))
	}
	if c.PageRest < 0 {
		errs = append(errs, fmt.Errorf("page rest %g is negative", c.PageRest))
	}
	if c.FullInterval < 0 {
		errs = append(errs, fmt.Errorf("full interval %s is negative", c.FullInterval))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid reconciliation config: %w", err)
	}
	return nil
}

// Reprojector writes a document again from the event store
// (projections.Projector).
type Reprojector interface {
	Reproject(ctx context.Context, n projections.Name, id string) error
}

// SagaResender has an order's saga send missing commands again under new
// message ids (sagas.Processor).
type SagaResender interface {
	Resend(ctx context.Context, orderID string, missing ...messages.Command) ([]sagas.Command, error)
}

// Deps are what the reconciler reads and heals with.
type Deps struct {
	// Pools maps each context to its database.
	Pools   map[config.Context]*pgxpool.Pool
	Elastic *elasticsearch.Client
	// Index names an index or alias in the deployment's namespace
	// (config.Config.Index).
	Index func(name string) string
	// Namespace keys the lock and the stored report.
	Namespace   string
	Projections Reprojector
	Sagas       SagaResender
	// Metrics receives orderflow_divergences (nil: not registered).
	Metrics prometheus.Registerer
	Logger  *slog.Logger
}

// Reconciler compares the services' data and heals what is safe; see the
// package documentation.
type Reconciler struct {
	cfg                           Config
	ordering, inventory, payments eventStore
	docs                          readModels
	aliases                       map[projections.Name]string
	sagaTable                     sagaTable
	backlogs                      []backlog
	reports                       *ReportStore
	lock                          leaderLock
	reproject                     Reprojector
	resender                      SagaResender
	metrics                       *metrics
	logger                        *slog.Logger
	// rest waits d or until ctx ends (a periodic run's PageRest).
	rest func(ctx context.Context, d time.Duration)
}

// New returns a reconciler.
func New(cfg Config, d Deps) (*Reconciler, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	for _, c := range config.Contexts() {
		if d.Pools[c] == nil {
			return nil, fmt.Errorf("reconciler: no database for context %s", c)
		}
	}
	if d.Elastic == nil || d.Index == nil || d.Projections == nil || d.Sagas == nil {
		return nil, errors.New("reconciler: Elastic, Index, Projections and Sagas are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(d.Metrics)
	if err != nil {
		return nil, err
	}
	ordering := d.Pools[config.Ordering]
	r := &Reconciler{
		cfg:       cfg,
		ordering:  newEventStore(ordering, string(config.Ordering)),
		inventory: newEventStore(d.Pools[config.Inventory], string(config.Inventory)),
		payments:  newEventStore(d.Pools[config.Payments], string(config.Payments)),
		docs:      readModels{es: d.Elastic},
		aliases:   map[projections.Name]string{},
		sagaTable: sagaTable{pool: ordering},
		reports:   NewReportStore(ordering, d.Namespace),
		lock:      leaderLock{pool: ordering, key: "orderflow.reconcile." + d.Namespace},
		reproject: d.Projections,
		resender:  d.Sagas,
		metrics:   m,
		logger:    d.Logger,
		rest:      func(ctx context.Context, d time.Duration) { pause.For(ctx, d) },
	}
	for _, n := range projections.Names() {
		r.aliases[n] = d.Index(string(n))
	}
	for _, c := range config.Contexts() {
		r.backlogs = append(r.backlogs, backlog{pool: d.Pools[c], schema: string(c), relay: outbox.DefaultName})
	}
	return r, nil
}

// Reports is where the reconciler keeps its last report.
func (r *Reconciler) Reports() *ReportStore { return r.reports }

// Run reconciles once, comparing everything, saves the report as the last
// one and shows it in the metrics. It fails with ErrRunning while another
// process runs one.
func (r *Reconciler) Run(ctx context.Context) (Report, error) {
	release, err := r.lock.tryAcquire(ctx)
	if err != nil {
		return Report{}, err
	}
	if release == nil {
		return Report{}, ErrRunning
	}
	defer release()
	return r.run(ctx, time.Time{}, nil, 0)
}

// RunPeriodically runs a reconciliation every Config.Interval until ctx
// ends. Every worker calls it; at each tick the one that takes the lock
// runs, unless a run (by any process, orderflow reconcile included)
// finished less than half an interval ago, and the others show the last
// report in their metrics. A failed run is logged and tried again at the
// next tick.
func (r *Reconciler) RunPeriodically(ctx context.Context) error {
	if r.cfg.Interval <= 0 {
		r.logger.Info("periodic reconciliation is off")
		return nil
	}
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := r.tick(ctx); err != nil && ctx.Err() == nil {
			r.logger.Error("reconciliation failed", "error", err)
		}
	}
}

func (r *Reconciler) tick(ctx context.Context) error {
	release, err := r.lock.tryAcquire(ctx)
	if err != nil {
		return err
	}
	if release != nil {
		defer release()
	}
	last, err := r.reports.Last(ctx)
	if err != nil {
		return err
	}
	if release == nil || (last != nil && time.Since(last.FinishedAt) < r.cfg.Interval/2) {
		if last != nil {
			r.metrics.show(*last)
		}
		return nil
	}
	_, err = r.run(ctx, r.since(last), last, r.cfg.PageRest)
	return err
}

// since is where a periodic run after last starts comparing orders,
// products and customers: where last began to count (what was younger
// than its grace was in flight then), or the zero time for a full run
// when none is known or the last full one is FullInterval old.
func (r *Reconciler) since(last *Report) time.Time {
	// A report that left findings unlisted cannot say which streams to
	// look at again: the next run compares everything.
	if r.cfg.FullInterval <= 0 || last == nil || last.FullAt.IsZero() || time.Since(last.FullAt) >= r.cfg.FullInterval || last.Omitted > 0 {
		return time.Time{}
	}
	return last.StartedAt.Add(-time.Duration(last.Grace))
}

// run is one reconciliation, under the lock: of every order, product and
// customer, or with since set of those changed since then and those that
// last, the report before it, named in findings not healed; resting
// pageRest times as long as each page of them took (Config.PageRest).
func (r *Reconciler) run(ctx context.Context, since time.Time, last *Report, pageRest float64) (Report, error) {
	started := time.Now()
	ru := &runState{
		since:       since,
		pageRest:    pageRest,
		cutoff:      started.Add(-r.cfg.Grace),
		maxFindings: r.cfg.MaxFindings,
		heal:        !r.cfg.DryRun,
		listed:      map[Kind]int{},
		resent:      map[string]string{},
		report: Report{
			StartedAt: started, Healing: !r.cfg.DryRun, Grace: Duration(r.cfg.Grace),
			Counts: map[Kind]int{}, Findings: []Finding{},
		},
	}
	switch {
	case since.IsZero():
		ru.report.FullAt = started
	default:
		ru.report.Since = &since
		if last != nil {
			ru.report.FullAt = last.FullAt
			ru.recheck = unhealed(*last)
		}
	}
	r.logger.Info("reconciliation started", "grace", r.cfg.Grace, "dry_run", r.cfg.DryRun, "full", since.IsZero(), "since", since)
	for _, pass := range []func(context.Context, *runState) error{
		r.checkOrders, r.checkProducts, r.checkCustomers, r.checkSagas, r.checkOutboxes,
	} {
		if err := pass(ctx, ru); err != nil {
			return Report{}, err
		}
	}
	ru.report.FinishedAt = time.Now()
	if err := r.reports.Save(ctx, ru.report); err != nil {
		return Report{}, err
	}
	r.metrics.show(ru.report)
	rep := ru.report
	r.logger.Info("reconciliation finished", "duration", rep.FinishedAt.Sub(rep.StartedAt), "full", rep.Since == nil, "orders", rep.Checked.Orders,
		"products", rep.Checked.Products, "customers", rep.Checked.Customers, "divergences", rep.Total(),
		"healed", rep.Healed, "needs_person", rep.NeedsPerson)
	return rep, nil
}

// pages calls fn with the streams of streamType in s that a run checks,
// Config.PageSize at a time, in id order: every stream, or with ru.since
// set those changed since then and those the last run's findings that
// were not healed named (ru.recheck), so an unchanged stream's divergence
// is still reported while it lasts.
func (r *Reconciler) pages(ctx context.Context, ru *runState, s eventStore, streamType string, check func(ids []string) error) error {
	fn := check
	if ru.pageRest > 0 {
		fn = func(ids []string) error {
			began := time.Now()
			if err := check(ids); err != nil {
				return err
			}
			r.rest(ctx, time.Duration(float64(time.Since(began))*ru.pageRest))
			return ctx.Err()
		}
	}
	if ru.since.IsZero() {
		after := ""
		for {
			ids, err := s.streams(ctx, streamType, after, r.cfg.PageSize)
			if err != nil || len(ids) == 0 {
				return err
			}
			after = ids[len(ids)-1]
			if err := fn(ids); err != nil {
				return err
			}
		}
	}
	ids, err := s.changed(ctx, streamType, ru.since, ru.recheck[streamType])
	if err != nil {
		return err
	}
	for page := range slices.Chunk(ids, r.cfg.PageSize) {
		if err := fn(page); err != nil {
			return err
		}
	}
	return nil
}

// unhealed returns the orders, products and customers named by the
// findings of rep that were not healed, by stream type.
func unhealed(rep Report) map[string][]string {
	ids := map[string][]string{}
	add := func(streamType, id string) {
		if id != "" {
			ids[streamType] = append(ids[streamType], id)
		}
	}
	for _, f := range rep.Findings {
		if f.Resolution != Healed {
			add(handlers.OrderStream, f.OrderID)
			add(handlers.ProductStream, f.ProductID)
			add(handlers.CustomerStream, f.CustomerID)
		}
	}
	return ids
}

// runState is what one run has found so far.
type runState struct {
	// since, when set, limits the orders, products and customers compared
	// to those with an event inserted since then, and those in recheck
	// (by stream type).
	since   time.Time
	recheck map[string][]string
	// pageRest is Config.PageRest for a periodic run, 0 for Run.
	pageRest    float64
	cutoff      time.Time
	maxFindings int
	heal        bool
	listed      map[Kind]int
	// resent maps the orders whose saga re-sent commands in this run to
	// what it sent.
	resent map[string]string
	report Report
}

// record adds a resolved finding to the report.
func (ru *runState) record(f Finding) {
	ru.report.Counts[f.Kind]++
	switch f.Resolution {
	case Healed:
		ru.report.Healed++
	case NeedsPerson:
		ru.report.NeedsPerson++
	case Healable:
		ru.report.Healable++
	}
	if ru.listed[f.Kind] >= ru.maxFindings {
		ru.report.Omitted++
		return
	}
	ru.listed[f.Kind]++
	ru.report.Findings = append(ru.report.Findings, f)
}

// uncounted adds n findings of kind needing a person that the report does
// not list (outbox events beyond the listed ones).
func (ru *runState) uncounted(kind Kind, n int) {
	ru.report.Counts[kind] += n
	ru.report.NeedsPerson += n
	ru.report.Omitted += n
}
