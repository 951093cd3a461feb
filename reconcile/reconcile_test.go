package reconcile_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/consumer"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/internal/systemtest"
	"github.com/orderflow/orderflow/internal/testenv"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/projections"
	"github.com/orderflow/orderflow/projections/documents"
	"github.com/orderflow/orderflow/query"
	"github.com/orderflow/orderflow/reconcile"
	"github.com/orderflow/orderflow/sagas"
)

// These tests run a whole orderflow on the real servers, damage its data
// on purpose the way a failure would, and check that a reconciliation
// finds each divergence, heals what it promises to heal, and that the
// next run is clean.

var admin = systemtest.Admin

type world struct {
	*systemtest.System
	t   *testing.T
	ctx context.Context
}

func setup(t *testing.T, opts systemtest.Options) *world {
	t.Helper()
	return &world{System: systemtest.Start(t, opts), t: t, ctx: context.Background()}
}

// reconciler returns a reconciler that counts every difference at once
// (no grace) and pages through two streams and three events at a time,
// so paging is exercised by a handful of orders.
func (w *world) reconciler(change ...func(*reconcile.Config)) *reconcile.Reconciler {
	w.t.Helper()
	cfg := reconcile.DefaultConfig()
	cfg.Grace, cfg.Interval, cfg.PageSize, cfg.ChunkSize = 0, 0, 2, 3
	for _, c := range change {
		c(&cfg)
	}
	rec, err := w.Service.Reconciler(cfg)
	require.NoError(w.t, err)
	return rec
}

func dryRun(cfg *reconcile.Config) { cfg.DryRun = true }

func (w *world) run(rec *reconcile.Reconciler) reconcile.Report {
	w.t.Helper()
	r, err := rec.Run(w.ctx)
	require.NoError(w.t, err)
	return r
}

// quiet waits until a dry run finds nothing: every saga finished, every
// event published and projected.
func (w *world) quiet() {
	w.t.Helper()
	rec := w.reconciler(dryRun)
	var last reconcile.Report
	require.Eventually(w.t, func() bool {
		last = w.run(rec)
		return last.Total() == 0
	}, 60*time.Second, 50*time.Millisecond, "the system settles: %s", table(last))
}

func table(r reconcile.Report) string {
	var b bytes.Buffer
	_ = r.WriteTable(&b)
	return b.String()
}

func (w *world) product(stock int, price money.Amount) string {
	w.t.Helper()
	p, err := w.App.Commands.CreateProduct.Handle(w.ctx, admin, app.CreateProduct{
		SKU: fmt.Sprintf("SKU-%d", rand.IntN(1e9)), Name: "Widget", Price: price, InitialStock: stock,
	})
	require.NoError(w.t, err)
	return p.ID
}

func (w *world) customer(credit money.Amount) string {
	w.t.Helper()
	c, err := w.App.Commands.RegisterCustomer.Handle(w.ctx, admin, app.RegisterCustomer{
		Email: fmt.Sprintf("c%d@example.com", rand.IntN(1e9)), Name: "Customer", InitialCredit: credit,
	})
	require.NoError(w.t, err)
	return c.ID
}

func (w *world) place(customerID, key string, items ...app.OrderItem) string {
	w.t.Helper()
	o, err := w.App.Commands.PlaceOrder.Handle(w.ctx, admin, app.PlaceOrder{
		CustomerID: customerID, IdempotencyKey: key, Items: items,
		ShippingAddress: messages.Address{Street: "1 Main St", City: "Springfield", Zip: "12345", Country: "US"},
		PaymentMethod:   messages.PaymentMethod{Type: "card", Token: "tok_4242"},
	})
	require.NoError(w.t, err)
	return o.ID
}

func item(productID string, qty int) app.OrderItem {
	return app.OrderItem{ProductID: productID, Quantity: qty}
}

// settled waits until the order is final and its saga finished.
func (w *world) settled(orderID string) messages.OrderStatus {
	w.t.Helper()
	var o query.Order
	require.Eventually(w.t, func() bool {
		o = w.order(orderID)
		st := w.saga(orderID)
		return o.Status.Terminal() && st != nil && !st.Active()
	}, 60*time.Second, 20*time.Millisecond, "order %s settles", orderID)
	return o.Status
}

func (w *world) saga(orderID string) *sagas.State {
	w.t.Helper()
	saga := w.Service.Sagas
	st, err := saga.Get(w.ctx, orderID)
	require.NoError(w.t, err)
	return st
}

// order, stock and account read the source of truth: the aggregates.
func (w *world) order(id string) query.Order {
	w.t.Helper()
	o, err := w.Service.Handlers().Orders.Load(w.ctx, id)
	require.NoError(w.t, err)
	return app.OrderView(o)
}

func (w *world) reservedFor(productID, orderID string) int {
	w.t.Helper()
	p, err := w.Service.Handlers().Products.Load(w.ctx, productID)
	require.NoError(w.t, err)
	return p.ReservedFor(orderID)
}

func (w *world) heldFor(customerID, orderID string) money.Amount {
	w.t.Helper()
	c, err := w.Service.Handlers().Customers.Load(w.ctx, customerID)
	require.NoError(w.t, err)
	return c.HeldFor(orderID)
}

// appendEvents writes events to a stream straight into an event store, as
// a bug or a hand-made repair would, bypassing every command handler.
func (w *world) appendEvents(store *eventstore.Store, streamID, streamType string, events ...messages.Event) {
	w.t.Helper()
	pool := store.Pool()
	version, err := store.StreamVersion(w.ctx, pool, streamID)
	require.NoError(w.t, err)
	tx, err := pool.Begin(w.ctx)
	require.NoError(w.t, err)
	defer func() { _ = tx.Rollback(w.ctx) }()
	_, err = store.Append(w.ctx, tx, streamID, streamType, version, eventstore.Metadata{CorrelationID: "test"}, events...)
	require.NoError(w.t, err)
	require.NoError(w.t, tx.Commit(w.ctx))
}

// seen is a finding as a test states it: kind, ids and resolution.
type seen struct {
	Kind       reconcile.Kind
	Order      string
	Stream     string
	Resolution reconcile.Resolution
}

func findings(r reconcile.Report) []seen {
	out := []seen{}
	for _, f := range r.Findings {
		out = append(out, seen{f.Kind, f.OrderID, f.ProductID + f.CustomerID, f.Resolution})
	}
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]) < fmt.Sprint(out[j]) })
	return out
}

func sorted(s ...seen) []seen {
	sort.Slice(s, func(i, j int) bool { return fmt.Sprint(s[i]) < fmt.Sprint(s[j]) })
	return s
}

// gauge reads orderflow_divergences{kind} from the service's registry.
func (w *world) gauge(kind reconcile.Kind) float64 {
	w.t.Helper()
	families, err := w.Service.Metrics.Gather()
	require.NoError(w.t, err)
	for _, f := range families {
		if f.GetName() != "orderflow_divergences" {
			continue
		}
		for _, m := range f.GetMetric() {
			if m.GetLabel()[0].GetValue() == string(kind) {
				return m.GetGauge().GetValue()
			}
		}
	}
	w.t.Fatalf("orderflow_divergences{kind=%q} is not registered", kind)
	return 0
}

// After a few orders of every outcome a healthy system reports nothing,
// and the report is kept for the API and shown in the metrics.
func TestHealthySystemReportsNothing(t *testing.T) {
	t.Parallel()
	w := setup(t, systemtest.Options{})
	mug, pen := w.product(5, 1250), w.product(3, 200)
	rich, poor := w.customer(100_00), w.customer(1_00)
	orders := []string{
		w.place(rich, "a", item(mug, 2)),
		w.place(rich, "b", item(mug, 1), item(pen, 1)),
		w.place(poor, "c", item(pen, 1)),  // payment refused
		w.place(rich, "d", item(pen, 10)), // out of stock
	}
	var outcomes []messages.OrderStatus
	for _, id := range orders {
		outcomes = append(outcomes, w.settled(id))
	}
	require.Equal(t, []messages.OrderStatus{messages.StatusConfirmed, messages.StatusConfirmed, messages.StatusCancelled, messages.StatusCancelled}, outcomes)
	w.quiet()

	rec := w.reconciler()
	report := w.run(rec)
	require.Zero(t, report.Total(), table(report))
	require.Empty(t, report.Findings)
	require.True(t, report.Healing)
	require.Equal(t, reconcile.Checked{Orders: 4, Products: 2, Customers: 2}, report.Checked)

	last, err := rec.Reports().Last(w.ctx)
	require.NoError(t, err)
	require.Equal(t, report.StartedAt.UnixMicro(), last.StartedAt.UnixMicro())
	require.Equal(t, report.Checked, last.Checked)
	for _, k := range reconcile.Kinds() {
		require.Zero(t, w.gauge(k), "orderflow_divergences{kind=%q}", k)
	}

	got, err := w.App.Queries.Reconciliation.Handle(w.ctx, admin)
	require.NoError(t, err)
	require.Equal(t, report.Checked, got.Checked)
	_, err = w.App.Queries.Reconciliation.Handle(w.ctx, auth.Principal{Subject: rich, Roles: []auth.Role{auth.RoleCustomer}})
	require.True(t, errcode.Is(err, errcode.Forbidden), "customers may not read it: %v", err)
}

// A projector that stopped mid-way, a deleted document and documents a
// faulty writer left wrong are found, re-projected from the event store
// and read back right; a dry run only reports them.
func TestReadModelDivergencesAreHealed(t *testing.T) {
	t.Parallel()
	w := setup(t, systemtest.Options{NoProjector: true})
	stopProjector := w.StartProjector(w.Service)
	mug := w.product(10, 1250)
	ada := w.customer(100_00)
	deleted, rewritten := w.place(ada, "deleted", item(mug, 1)), w.place(ada, "rewritten", item(mug, 2))
	w.settled(deleted)
	w.settled(rewritten)
	w.quiet()

	w.deleteDocument(projections.Orders, deleted, w.order(deleted).Version)
	rewriteDocument(w, projections.Orders, rewritten, func(d *documents.Order) {
		d.Status, d.CompletedSteps = messages.StatusPending, d.CompletedSteps[:1]
	})
	rewriteDocument(w, projections.Customers, ada, func(d *documents.Customer) { d.Held += 100 })
	stopProjector()
	unprojected := w.place(ada, "unprojected", item(mug, 3))
	w.settled(unprojected)

	want := sorted(
		seen{reconcile.DocumentMissing, deleted, "", reconcile.Healable},
		seen{reconcile.DocumentMissing, unprojected, "", reconcile.Healable},
		seen{reconcile.DocumentStale, rewritten, "", reconcile.Healable},
		seen{reconcile.ProductReadModelDiverged, "", mug, reconcile.Healable},
		seen{reconcile.CustomerReadModelDiverged, "", ada, reconcile.Healable},
	)
	dry := w.run(w.reconciler(dryRun))
	require.Equal(t, want, findings(dry), table(dry))
	require.False(t, dry.Healing)
	require.Equal(t, 5, dry.Healable)
	_, err := w.App.Queries.Order.Handle(w.ctx, admin, deleted, 0)
	require.True(t, errcode.Is(err, errcode.NotFound), "a dry run heals nothing: %v", err)

	report := w.run(w.reconciler())
	for i := range want {
		want[i].Resolution = reconcile.Healed
	}
	require.Equal(t, want, findings(report), table(report))
	require.Equal(t, 5, report.Healed)
	require.Zero(t, report.NeedsPerson)
	for _, f := range report.Findings {
		require.NotEqual(t, f.Expected, f.Found)
		require.Equal(t, "re-projected from the event store", f.Action)
	}
	require.Equal(t, 2.0, w.gauge(reconcile.DocumentMissing))
	require.Equal(t, 1.0, w.gauge(reconcile.DocumentStale))

	// The read models now say what the event stores say, with the
	// projector still down.
	for _, id := range []string{deleted, rewritten, unprojected} {
		doc, err := w.App.Queries.Order.Handle(w.ctx, admin, id, 0)
		require.NoError(t, err)
		truth := w.order(id)
		require.Equal(t, truth.Version, doc.Version)
		require.Equal(t, messages.StatusConfirmed, doc.Status)
		require.Equal(t, truth.CompletedSteps, doc.CompletedSteps)
	}
	product, err := w.App.Queries.Product.Handle(w.ctx, admin, mug)
	require.NoError(t, err)
	require.Equal(t, 10-1-2-3, product.Available)
	account, err := w.App.Queries.Customer.Handle(w.ctx, admin, ada)
	require.NoError(t, err)
	require.Zero(t, account.Held)

	again := w.run(w.reconciler())
	require.Zero(t, again.Total(), table(again))
	require.Zero(t, w.gauge(reconcile.DocumentMissing))
}

// deleteDocument deletes a document as a lost write or shard would leave
// it: gone, at its version (a delete by hand without a version would bump
// it, and Elasticsearch then refuses the document's own version until
// index.gc_deletes passes).
func (w *world) deleteDocument(n projections.Name, id string, version int) {
	w.t.Helper()
	res, err := esapi.DeleteRequest{Index: w.Env.Config.Index(string(n)), DocumentID: id, Version: &version, VersionType: "external_gte"}.Do(w.ctx, w.Env.Elastic)
	require.NoError(w.t, err)
	defer res.Body.Close()
	require.False(w.t, res.IsError(), "delete %s %s: %s", n, id, res.String())
}

// rewriteDocument overwrites a document with what change makes of it, at
// the same version, as a faulty writer would.
func rewriteDocument[D any](w *world, n projections.Name, id string, change func(*D)) {
	w.t.Helper()
	alias := w.Env.Config.Index(string(n))
	realtime := true
	res, err := esapi.GetRequest{Index: alias, DocumentID: id, Realtime: &realtime}.Do(w.ctx, w.Env.Elastic)
	require.NoError(w.t, err)
	raw, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	require.NoError(w.t, err)
	require.False(w.t, res.IsError(), "read %s %s: %s", n, id, raw)
	var got struct {
		Version int `json:"_version"`
		Source  D   `json:"_source"`
	}
	require.NoError(w.t, json.Unmarshal(raw, &got))
	change(&got.Source)
	body, err := json.Marshal(got.Source)
	require.NoError(w.t, err)
	res, err = esapi.IndexRequest{Index: alias, DocumentID: id, Body: bytes.NewReader(body), Version: &got.Version, VersionType: "external_gte"}.Do(w.ctx, w.Env.Elastic)
	require.NoError(w.t, err)
	defer res.Body.Close()
	require.False(w.t, res.IsError(), "write %s %s: %s", n, id, res.String())
}

// Reservations and holds written straight into the event stores: those
// of a cancelled order are handed to its saga, which gives them back;
// those of an order that does not exist need a person.
func TestStrayReservationsAndHolds(t *testing.T) {
	t.Parallel()
	w := setup(t, systemtest.Options{})
	mug := w.product(10, 1250)
	poor, rich := w.customer(1_00), w.customer(100_00)
	cancelled := w.place(poor, "too-dear", item(mug, 2))
	require.Equal(t, messages.StatusCancelled, w.settled(cancelled))
	w.quiet()

	stores := w.Service.Stores()
	const ghost = "no-such-order"
	w.appendEvents(stores.Inventory, mug, handlers.ProductStream,
		messages.StockReserved{ProductID: mug, OrderID: cancelled, Quantity: 2},
		messages.StockReserved{ProductID: mug, OrderID: ghost, Quantity: 1})
	w.appendEvents(stores.Payments, poor, handlers.CustomerStream, messages.PaymentAuthorized{CustomerID: poor, OrderID: cancelled, Amount: 50})
	w.appendEvents(stores.Payments, rich, handlers.CustomerStream, messages.PaymentAuthorized{CustomerID: rich, OrderID: ghost, Amount: 7_00})

	want := sorted(
		seen{reconcile.StockNotReleased, cancelled, mug, reconcile.Healed},
		seen{reconcile.HoldNotVoided, cancelled, poor, reconcile.Healed},
		seen{reconcile.ReservationOrphaned, ghost, mug, reconcile.NeedsPerson},
		seen{reconcile.HoldOrphaned, ghost, rich, reconcile.NeedsPerson},
	)
	// The projector follows the appended events; until it has, the
	// product and account documents are behind too.
	var report reconcile.Report
	require.Eventually(t, func() bool {
		report = w.run(w.reconciler(dryRun))
		return len(report.Findings) == len(want)
	}, 30*time.Second, 50*time.Millisecond, "the documents catch up: %s", table(report))

	report = w.run(w.reconciler())
	require.Equal(t, want, findings(report), table(report))
	for _, f := range report.Findings {
		switch f.Resolution {
		case reconcile.Healed:
			require.Contains(t, f.Action, "the saga re-sent")
		case reconcile.NeedsPerson:
			require.Equal(t, "nothing: no such order", f.Expected)
		}
	}
	require.Equal(t, 1.0, w.gauge(reconcile.ReservationOrphaned))

	require.Eventually(t, func() bool {
		return w.reservedFor(mug, cancelled) == 0 && w.heldFor(poor, cancelled) == 0
	}, 30*time.Second, 20*time.Millisecond, "the saga gave the stock and the money back")
	require.Equal(t, 1, w.reservedFor(mug, ghost), "what belongs to no order is left to a person")

	require.Eventually(t, func() bool {
		report = w.run(w.reconciler())
		return slices.Equal(findings(report), sorted(
			seen{reconcile.ReservationOrphaned, ghost, mug, reconcile.NeedsPerson},
			seen{reconcile.HoldOrphaned, ghost, rich, reconcile.NeedsPerson},
		))
	}, 30*time.Second, 50*time.Millisecond, "only the orphans are left: %s", table(report))
}

// loser loses, once each, the commands named in targets (command name ->
// order id) on their way to their handler, as a broken network or a crash
// between sending and handling would, and notes them in lost.
type loser struct {
	targets, lost sync.Map
}

func (l *loser) middleware(h consumer.Handler) consumer.Handler {
	return func(ctx context.Context, batch []consumer.Message) error {
		kept := make([]consumer.Message, 0, len(batch))
		for _, m := range batch {
			if !l.loses(m.Message) {
				kept = append(kept, m)
			}
		}
		if len(kept) == 0 {
			return nil
		}
		return h(ctx, kept)
	}
}

func (l *loser) loses(msg *message.Message) bool {
	name := msg.Metadata.Get("name")
	target, ok := l.targets.Load(name)
	if !ok {
		return false
	}
	var cmd struct {
		OrderID string `json:"orderId"`
	}
	if json.Unmarshal(msg.Payload, &cmd) != nil || cmd.OrderID != target {
		return false
	}
	_, done := l.lost.LoadOrStore(name, true)
	return !done
}

// With the deadline loop down, a lost CommitStock leaves a CONFIRMED
// order with its stock reserved (and its payment held: settlement
// captures once the stock is committed) and a lost AuthorizePayment
// leaves an order stuck; the reconciliation has each saga send its
// commands again under new ids, and both orders end as they should.
func TestSagasSendWhatWasLostAgain(t *testing.T) {
	t.Parallel()
	l := &loser{}
	w := setup(t, systemtest.Options{Service: []service.Option{
		service.WithSagaConfig(func(c *sagas.Config) {
			c.DeadlineInterval = time.Hour // nothing fires deadlines
			c.Policy.StepTimeout = 50 * time.Millisecond
		}),
		service.WithBatchMiddleware(l.middleware),
	}})
	mug := w.product(10, 1250)
	ada := w.customer(100_00)
	unsettled, stuck := app.OrderID(ada, "unsettled"), app.OrderID(ada, "stuck")
	l.targets.Store("inventory.CommitStock", unsettled)
	l.targets.Store("payments.AuthorizePayment", stuck)

	require.Equal(t, unsettled, w.place(ada, "unsettled", item(mug, 2)))
	require.Eventually(t, func() bool {
		st := w.saga(unsettled)
		return w.order(unsettled).Status == messages.StatusConfirmed && st.Phase == sagas.PhaseSettling &&
			w.heldFor(ada, unsettled) == 2*1250 && w.reservedFor(mug, unsettled) == 2
	}, 30*time.Second, 20*time.Millisecond, "the order is confirmed, its stock still only reserved, its payment held")
	require.Equal(t, stuck, w.place(ada, "stuck", item(mug, 1)))
	require.Eventually(t, func() bool {
		_, lost := l.lost.Load("payments.AuthorizePayment")
		return lost && w.saga(stuck).Phase == sagas.PhaseAuthorizing
	}, 30*time.Second, 20*time.Millisecond, "the authorization is lost")

	want := sorted(
		seen{reconcile.StockNotCommitted, unsettled, mug, reconcile.Healable},
		seen{reconcile.PaymentNotCaptured, unsettled, ada, reconcile.Healable},
		seen{reconcile.SagaOverdue, unsettled, "", reconcile.Healable},
		seen{reconcile.SagaOverdue, stuck, "", reconcile.Healable},
	)
	var report reconcile.Report
	require.Eventually(t, func() bool {
		report = w.run(w.reconciler(dryRun))
		return slices.Equal(want, findings(report))
	}, 30*time.Second, 50*time.Millisecond, "the read models catch up: %s", table(report))

	// Healing the missing commit moves the first saga's deadline on, so
	// it is no longer overdue when the sagas are looked at.
	report = w.run(w.reconciler())
	require.Equal(t, sorted(
		seen{reconcile.StockNotCommitted, unsettled, mug, reconcile.Healed},
		seen{reconcile.PaymentNotCaptured, unsettled, ada, reconcile.Healed},
		seen{reconcile.SagaOverdue, stuck, "", reconcile.Healed},
	), findings(report), table(report))
	for _, f := range report.Findings {
		switch f.Kind {
		case reconcile.StockNotCommitted:
			require.Equal(t, "committed", f.Expected)
			require.Equal(t, "reserved (2 units)", f.Found)
			require.Contains(t, f.Action, "inventory.CommitStock for "+mug)
		case reconcile.PaymentNotCaptured:
			require.Equal(t, "captured", f.Expected)
			require.Contains(t, f.Action, "payments.CapturePayment for "+ada)
		case reconcile.SagaOverdue:
			require.Contains(t, f.Found, string(sagas.PhaseAuthorizing))
			require.Contains(t, f.Action, "payments.AuthorizePayment for "+ada)
		}
	}

	require.Equal(t, messages.StatusConfirmed, w.settled(unsettled))
	require.Equal(t, messages.StatusConfirmed, w.settled(stuck))
	require.Zero(t, w.reservedFor(mug, unsettled))
	w.quiet()
	again := w.run(w.reconciler())
	require.Zero(t, again.Total(), table(again))
}

// With no relay running, an event older than the grace period is
// reported as unpublished, one younger is in flight; a parked saga is
// reported for a person. A run is refused while another process runs
// one, and the workers' periodic runs pick up what the relays did once
// they run.
func TestUnpublishedEventsParkedSagasLockAndPeriodicRuns(t *testing.T) {
	t.Parallel()
	sys := &systemtest.System{T: t, Env: testenv.New(t)}
	sys.Service = sys.Open()
	w := &world{System: sys, t: t, ctx: context.Background()}
	w.App = w.Service.Application()
	require.NoError(t, w.Service.Projector.EnsureIndexes(w.ctx))

	mug := w.product(3, 100)
	store := w.Service.Stores().Inventory
	created, err := store.ReadStream(w.ctx, store.Pool(), mug, 0)
	require.NoError(t, err)
	require.Len(t, created, 1)

	_, err = w.Env.Pool.Exec(w.ctx, `INSERT INTO sagas.order_sagas (order_id, phase, state, started_at)
		VALUES ('parked', 'PARKED', '{"completed": ["ORDER_CREATED", "INVENTORY_RESERVED"], "failure": {"message": "void failed"}}', now())`)
	require.NoError(t, err)

	young := w.run(w.reconciler(func(c *reconcile.Config) { c.Grace = time.Hour }))
	require.Equal(t, []seen{{reconcile.SagaParked, "parked", "", reconcile.NeedsPerson}}, findings(young),
		"younger than the grace period, the event is in flight: %s", table(young))

	rec := w.reconciler(dryRun)
	report := w.run(rec)
	require.Equal(t, sorted(
		seen{reconcile.OutboxUnpublished, "", mug, reconcile.NeedsPerson},
		seen{reconcile.ProductReadModelDiverged, "", mug, reconcile.Healable},
		seen{reconcile.SagaParked, "parked", "", reconcile.NeedsPerson},
	), findings(report), table(report))
	for _, f := range report.Findings {
		switch f.Kind {
		case reconcile.OutboxUnpublished:
			require.Equal(t, "inventory", f.Context)
			require.Equal(t, created[0].EventID.String(), f.EventID)
			require.Contains(t, f.Found, "inventory.ProductCreated version 1")
		case reconcile.SagaParked:
			require.Equal(t, "parked after INVENTORY_RESERVED: void failed", f.Found)
		}
	}
	require.Equal(t, 1.0, w.gauge(reconcile.OutboxUnpublished))

	// Another process holds the reconciliation lock.
	other, err := pgx.Connect(w.ctx, w.Env.Config.PostgresURL)
	require.NoError(t, err)
	_, err = other.Exec(w.ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, "orderflow.reconcile."+w.Env.Config.Namespace)
	require.NoError(t, err)
	_, err = rec.Run(w.ctx)
	require.ErrorIs(t, err, reconcile.ErrRunning)
	// Unlocked explicitly: a closed session's lock is freed only once its
	// backend has exited, which may come after the next run tried.
	_, err = other.Exec(w.ctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, "orderflow.reconcile."+w.Env.Config.Namespace)
	require.NoError(t, err)
	require.NoError(t, other.Close(w.ctx))
	w.run(rec)

	sys.StartRelays(w.Service)
	periodic := w.reconciler(func(c *reconcile.Config) { c.DryRun, c.Interval = true, 200*time.Millisecond })
	systemtest.Run(t, periodic.RunPeriodically)
	var last *reconcile.Report
	require.Eventually(t, func() bool {
		last, err = periodic.Reports().Last(w.ctx)
		require.NoError(t, err)
		return last.StartedAt.After(report.FinishedAt) && last.Counts[reconcile.OutboxUnpublished] == 0
	}, 30*time.Second, 50*time.Millisecond, "a periodic run sees the event published")
	require.Equal(t, 1, last.Counts[reconcile.ProductReadModelDiverged], "no projector runs here: %s", table(*last))
}

// Between full runs, a periodic run compares the orders, products and
// customers with an event since the run before began to count, and those
// that run's unhealed findings named: a document rewritten behind the
// projector's back is found by a full run and still reported by the
// incremental runs after it, while an order nothing happened to is not
// read again. Once FullInterval has passed, a periodic run is full.
func TestPeriodicRunsBetweenFullOnesCompareWhatChanged(t *testing.T) {
	t.Parallel()
	w := setup(t, systemtest.Options{})
	mug, pen := w.product(10, 1250), w.product(10, 200)
	ada, bob := w.customer(100_00), w.customer(100_00)
	quietOrder, rewritten := w.place(ada, "quiet", item(mug, 1)), w.place(ada, "rewritten", item(mug, 1))
	w.settled(quietOrder)
	w.settled(rewritten)
	w.quiet()

	incremental := w.reconciler(dryRun, func(c *reconcile.Config) { c.FullInterval = time.Hour })
	tick := func() reconcile.Report {
		t.Helper()
		require.NoError(t, incremental.Tick(w.ctx))
		last, err := incremental.Reports().Last(w.ctx)
		require.NoError(t, err)
		return *last
	}
	full := w.run(w.reconciler(dryRun))
	require.Nil(t, full.Since, "orderflow reconcile compares everything")
	require.Equal(t, full.StartedAt.UnixMicro(), full.FullAt.UnixMicro())
	require.Equal(t, reconcile.Checked{Orders: 2, Products: 2, Customers: 2}, full.Checked)

	// Something changes one order, one product and one customer; a faulty
	// writer changes another order's document without an event.
	fresh := w.place(bob, "fresh", item(pen, 2))
	w.settled(fresh)
	w.projected(fresh, pen, bob) // without a run in between: a run's report is the next one's start
	rewriteDocument(w, projections.Orders, rewritten, func(d *documents.Order) { d.Status = messages.StatusPending })

	next := tick()
	require.NotNil(t, next.Since, table(next))
	require.True(t, next.StartedAt.After(full.FinishedAt))
	require.Equal(t, full.StartedAt.UnixMicro(), next.Since.UnixMicro(), "from where the full run began to count (no grace here)")
	require.Equal(t, full.StartedAt.UnixMicro(), next.FullAt.UnixMicro())
	require.Equal(t, reconcile.Checked{Orders: 1, Products: 1, Customers: 1}, next.Checked, "only the fresh order, its product and customer: %s", table(next))
	require.Zero(t, next.Total(), "the rewritten order had no event since: %s", table(next))

	// A full run finds the rewrite; a dry run leaves it; the incremental
	// run after it looks at that order again and still reports it.
	found := w.run(w.reconciler(dryRun))
	require.Equal(t, []seen{{reconcile.DocumentStale, rewritten, "", reconcile.Healable}}, findings(found), table(found))
	again := tick()
	require.NotNil(t, again.Since, table(again))
	require.Equal(t, reconcile.Checked{Orders: 1}, again.Checked, table(again))
	require.Equal(t, []seen{{reconcile.DocumentStale, rewritten, "", reconcile.Healable}}, findings(again), table(again))
	require.Equal(t, found.StartedAt.UnixMicro(), again.FullAt.UnixMicro())

	// FullInterval passed since the last full run: the next one is full.
	due := w.reconciler(dryRun, func(c *reconcile.Config) { c.FullInterval = time.Nanosecond })
	require.NoError(t, due.Tick(w.ctx))
	last, err := due.Reports().Last(w.ctx)
	require.NoError(t, err)
	require.Nil(t, last.Since, table(*last))
	require.Equal(t, reconcile.Checked{Orders: 3, Products: 2, Customers: 2}, last.Checked, table(*last))
}

// projected waits until the documents of the order, product and customer
// are at their streams' versions, reading them through the queries.
func (w *world) projected(orderID, productID, customerID string) {
	w.t.Helper()
	h := w.Service.Handlers()
	require.Eventually(w.t, func() bool {
		o, err := w.App.Queries.Order.Handle(w.ctx, admin, orderID, 0)
		if err != nil || o.Version != w.order(orderID).Version {
			return false
		}
		product, err := h.Products.Load(w.ctx, productID)
		require.NoError(w.t, err)
		p, err := w.App.Queries.Product.Handle(w.ctx, admin, productID)
		if err != nil || p.Version != product.Version() {
			return false
		}
		customer, err := h.Customers.Load(w.ctx, customerID)
		require.NoError(w.t, err)
		c, err := w.App.Queries.Customer.Handle(w.ctx, admin, customerID)
		return err == nil && c.Version == customer.Version()
	}, 30*time.Second, 20*time.Millisecond, "order %s, product %s and customer %s projected", orderID, productID, customerID)
}

// A periodic run rests after each page of orders, products and customers
// as long as PageRest times what the page took; orderflow reconcile,
// which an operator waits for, does not.
func TestPeriodicRunsRestBetweenPages(t *testing.T) {
	t.Parallel()
	w := setup(t, systemtest.Options{})
	mug := w.product(10, 1250)
	ada := w.customer(100_00)
	for _, key := range []string{"a", "b", "c"} {
		w.settled(w.place(ada, key, item(mug, 1)))
	}
	w.quiet()

	run := w.reconciler(dryRun, func(c *reconcile.Config) { c.PageRest = 2 })
	runRests := run.Rests()
	w.run(run)
	require.Empty(t, *runRests, "orderflow reconcile runs flat out")

	periodic := w.reconciler(dryRun, func(c *reconcile.Config) { c.PageRest, c.FullInterval = 2, 0 })
	rests := periodic.Rests()
	began := time.Now()
	require.NoError(t, periodic.Tick(w.ctx))
	took := time.Since(began)
	// Pages of two: orders 3 (two pages), products 1, customers 1.
	require.Len(t, *rests, 4)
	var sum time.Duration
	for _, d := range *rests {
		require.Positive(t, d)
		sum += d
	}
	require.Less(t, sum, 2*took, "twice what the pages took, which is less than the whole run")

	flat := w.reconciler(dryRun, func(c *reconcile.Config) { c.PageRest, c.FullInterval = 0, 0 })
	flatRests := flat.Rests()
	require.NoError(t, flat.Tick(w.ctx))
	require.Empty(t, *flatRests, "PageRest 0 runs flat out")
}

// A configuration that makes no sense is refused, every fault named.
func TestConfigurationIsValidated(t *testing.T) {
	t.Parallel()
	cfg := reconcile.DefaultConfig()
	cfg.PageRest, cfg.FullInterval = -1, -time.Hour
	_, err := reconcile.New(cfg, reconcile.Deps{})
	require.ErrorContains(t, err, "page rest -1 is negative")
	require.ErrorContains(t, err, "full interval -1h0m0s is negative")
}
