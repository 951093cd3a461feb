package sagas_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/command/domain/ordering"
	"github.com/orderflow/orderflow/command/domain/payments"
	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/internal/consumer"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/internal/systemtest"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/query"
	"github.com/orderflow/orderflow/sagas"
)

var admin = systemtest.Admin

// world is one test's running orderflow on real PostgreSQL and Kafka; the
// tests read the source of truth (the aggregates in the event stores).
type world struct {
	*systemtest.System
	t *testing.T
}

// fastPolicy keeps timeout scenarios short.
var fastPolicy = sagas.Policy{StepTimeout: 400 * time.Millisecond, MaxAttempts: 3, MaxBackoff: time.Second}

// withPolicy runs the saga with policy.
func withPolicy(policy sagas.Policy) service.Option {
	return service.WithSagaConfig(func(c *sagas.Config) { c.Policy = policy })
}

func setup(t *testing.T, opts ...service.Option) *world {
	t.Helper()
	return &world{System: systemtest.Start(t, systemtest.Options{NoProjector: true, Service: opts}), t: t}
}

func (w *world) product(stock int, price money.Amount) query.Product {
	w.t.Helper()
	p, err := w.App.Commands.CreateProduct.Handle(context.Background(), admin, app.CreateProduct{
		SKU: fmt.Sprintf("SKU-%d", rand.IntN(1e9)), Name: "Widget", Price: price, InitialStock: stock,
	})
	require.NoError(w.t, err)
	return p
}

func (w *world) customer(credit money.Amount) query.Customer {
	w.t.Helper()
	c, err := w.App.Commands.RegisterCustomer.Handle(context.Background(), admin, app.RegisterCustomer{
		Email: fmt.Sprintf("c%d@example.com", rand.IntN(1e9)), Name: "Customer", InitialCredit: credit,
	})
	require.NoError(w.t, err)
	return c
}

func (w *world) place(customerID string, items ...app.OrderItem) query.Order {
	w.t.Helper()
	o, err := w.App.Commands.PlaceOrder.Handle(context.Background(), admin, app.PlaceOrder{
		CustomerID:      customerID,
		IdempotencyKey:  fmt.Sprintf("key-%d", rand.Int64()),
		Items:           items,
		ShippingAddress: messages.Address{Street: "1 Main St", City: "Springfield", Zip: "12345", Country: "US"},
		PaymentMethod:   messages.PaymentMethod{Type: "card", Token: "tok_4242"},
	})
	require.NoError(w.t, err)
	require.Equal(w.t, messages.StatusPending, o.Status)
	return o
}

func item(p query.Product, qty int) app.OrderItem {
	return app.OrderItem{ProductID: p.ID, Quantity: qty}
}

// settled waits until the order is final and its saga finished, and
// returns the order.
func (w *world) settled(orderID string) query.Order {
	w.t.Helper()
	var o query.Order
	deadline := time.Now().Add(60 * time.Second)
	for {
		o = w.order(orderID)
		st, err := w.sagaState(orderID)
		require.NoError(w.t, err)
		if o.Status.Terminal() && st != nil && !st.Active() {
			break
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("order %s did not settle: %s", orderID, w.diagnose(orderID))
		}
		time.Sleep(25 * time.Millisecond)
	}
	return o
}

// diagnose describes where an order's saga stands, for failure messages.
func (w *world) diagnose(orderID string) string {
	st, err := w.sagaState(orderID)
	out := fmt.Sprintf("saga %+v (err %v)", st, err)
	rows, err := w.Env.Pool.Query(context.Background(),
		`SELECT 'inventory', stream_id, version, event_type, transaction_id::text, position FROM inventory.events WHERE data->>'orderId' = $1
		 UNION ALL SELECT 'payments', stream_id, version, event_type, transaction_id::text, position FROM payments.events WHERE data->>'orderId' = $1
		 UNION ALL SELECT 'ordering', stream_id, version, event_type, transaction_id::text, position FROM ordering.events WHERE stream_id = $1`, orderID)
	if err == nil {
		for rows.Next() {
			var ctx, stream, typ, tx string
			var version int
			var pos int64
			_ = rows.Scan(&ctx, &stream, &version, &typ, &tx, &pos)
			out += fmt.Sprintf("\n  %s %s v%d %s tx=%s pos=%d", ctx, stream, version, typ, tx, pos)
		}
		rows.Close()
	}
	var cps string
	_ = w.Env.Pool.QueryRow(context.Background(), `SELECT string_agg(relay||':'||transaction_id::text||'/'||position, ', ') FROM inventory.relay_checkpoints`).Scan(&cps)
	out += "\n  inventory relay checkpoints: " + cps
	rows, err = w.Env.Pool.Query(context.Background(), `SELECT pid, coalesce(state, ''), coalesce(wait_event_type, ''), coalesce(wait_event, ''), left(query, 120), coalesce(now() - xact_start, '0')::text
		FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'`)
	if err == nil {
		for rows.Next() {
			var pid int
			var state, wt, we, q, age string
			_ = rows.Scan(&pid, &state, &wt, &we, &q, &age)
			out += fmt.Sprintf("\n  pg %d %s %s/%s %s: %s", pid, state, wt, we, age, q)
		}
		rows.Close()
	}
	return out
}

func (w *world) sagaState(orderID string) (*sagas.State, error) {
	return w.Service.Sagas.Get(context.Background(), orderID)
}

// skippedAsApplied checks what the saga's consumer skips without asking
// the database (sagas.AppliedWhenAppended): every order event it would
// skip must have been applied by the saga's transaction that appended it.
// It returns how many of the order's events those are.
func (w *world) skippedAsApplied(orderID string) int {
	w.t.Helper()
	ctx := context.Background()
	records, err := w.Service.Handlers().Orders.Store().ReadStream(ctx, w.Env.Pool, orderID, 0)
	require.NoError(w.t, err)
	skipped := 0
	for _, r := range records {
		env := messages.Envelope{EventID: r.EventID.String(), EventType: r.EventType, CorrelationID: r.CorrelationID, CausationID: r.CausationID}
		if !sagas.AppliedWhenAppended(env, orderID) {
			continue
		}
		skipped++
		var processed bool
		require.NoError(w.t, w.Env.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sagas.order_sagas WHERE order_id = $1 AND $2 = ANY (applied))`, orderID, r.EventID).Scan(&processed))
		require.True(w.t, processed, "%s %s of order %s is skipped as applied by the saga, but the saga never applied it", r.EventType, r.EventID, orderID)
	}
	return skipped
}

// order, stock and account read the aggregates: the source of truth.
func (w *world) order(id string) query.Order {
	w.t.Helper()
	o, err := w.Service.Handlers().Orders.Load(context.Background(), id)
	require.NoError(w.t, err)
	return app.OrderView(o)
}

func (w *world) stock(id string) query.Product {
	w.t.Helper()
	agg, err := w.Service.Handlers().Products.Load(context.Background(), id)
	require.NoError(w.t, err)
	return app.ProductView(agg)
}

func (w *world) account(id string) query.Customer {
	w.t.Helper()
	agg, err := w.Service.Handlers().Customers.Load(context.Background(), id)
	require.NoError(w.t, err)
	return app.CustomerView(agg)
}

func steps(s ...messages.SagaStep) []messages.SagaStep { return s }

func TestHappyPathConfirms(t *testing.T) {
	t.Parallel()
	w := setup(t)
	mug, pen := w.product(10, 1250), w.product(5, 199)
	c := w.customer(10000)

	o := w.settled(w.place(c.ID, item(mug, 2), item(pen, 3)).ID)

	require.Equal(t, messages.StatusConfirmed, o.Status)
	require.Equal(t, steps(messages.StepOrderCreated, messages.StepInventoryReserved, messages.StepPaymentAuthorized, messages.StepOrderConfirmed), o.CompletedSteps)
	require.Empty(t, o.PendingSteps)
	require.Nil(t, o.Failure)
	require.Equal(t, money.Amount(2*1250+3*199), o.Total)
	require.Equal(t, 8, w.stock(mug.ID).Available)
	require.Equal(t, 0, w.stock(mug.ID).Reserved)
	require.Equal(t, 2, w.stock(pen.ID).Available)
	acct := w.account(c.ID)
	require.Equal(t, money.Amount(10000-2*1250-3*199), acct.Balance)
	require.Zero(t, acct.Held)

	// The API places the order in its own process and the saga records the
	// steps and the confirmation on the order in its own transaction: none
	// of the orders' commands crossed Kafka.
	handled := w.handledFromKafka()
	for _, h := range []string{handlers.PlaceOrderHandler, handlers.MarkOrderStepHandler, handlers.ConfirmOrderHandler} {
		require.Zero(t, handled[h], "%s messages consumed from Kafka", h)
	}
	require.Positive(t, handled[handlers.InventoryCommandsHandler], "the metric counts what crossed Kafka")

	// The saga's consumer skips the order events the saga appended itself
	// (two steps and the confirmation) without a database look-up.
	require.Equal(t, 3, w.skippedAsApplied(o.ID))
}

// handledFromKafka counts what each consumer of the worker handled from
// Kafka (orderflow_message_handling_seconds: messages, or batches for the
// command consumers, labelled by consumer).
func (w *world) handledFromKafka() map[string]uint64 {
	w.t.Helper()
	families, err := w.Service.Metrics.Gather()
	require.NoError(w.t, err)
	out := map[string]uint64{}
	for _, f := range families {
		if f.GetName() != "orderflow_message_handling_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "handler" {
					out[l.GetValue()] += m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return out
}

func TestOutOfStockCancelsAndReleases(t *testing.T) {
	t.Parallel()
	w := setup(t)
	plenty, scarce := w.product(10, 100), w.product(1, 100)
	c := w.customer(10000)

	o := w.settled(w.place(c.ID, item(plenty, 2), item(scarce, 5)).ID)

	require.Equal(t, messages.StatusCancelled, o.Status)
	require.NotNil(t, o.Failure)
	require.Equal(t, errcode.InventoryUnavailable, o.Failure.Code)
	// The other line's reservation may still be in flight when the order
	// ends: the finished saga releases it when its answer lands.
	require.Eventually(t, func() bool {
		st := w.stock(plenty.ID)
		return st.Available == 10 && st.Reserved == 0
	}, 30*time.Second, 10*time.Millisecond, "the line that was reserved is released")
	require.Equal(t, 1, w.stock(scarce.ID).Available)
	require.Equal(t, money.Amount(10000), w.account(c.ID).Balance, "no payment was ever taken")
	require.Positive(t, w.skippedAsApplied(o.ID), "the failure the saga recorded on the order")
}

func TestInsufficientFundsCancelsAndReleases(t *testing.T) {
	t.Parallel()
	w := setup(t)
	p := w.product(3, 5000)
	c := w.customer(100)

	o := w.settled(w.place(c.ID, item(p, 1)).ID)

	require.Equal(t, messages.StatusCancelled, o.Status)
	require.Equal(t, errcode.PaymentFailed, o.Failure.Code)
	require.Equal(t, 3, w.stock(p.ID).Available)
	require.Equal(t, 0, w.stock(p.ID).Reserved)
	require.Equal(t, money.Amount(100), w.account(c.ID).Balance)
}

func TestTransientProviderFailuresAreRetried(t *testing.T) {
	t.Parallel()
	w := setup(t, service.WithPaymentProvider(&payments.FaultyProvider{Next: payments.BalanceProvider{}, FailFirst: 3}))
	p := w.product(3, 500)
	c := w.customer(1000)

	o := w.settled(w.place(c.ID, item(p, 1)).ID)

	require.Equal(t, messages.StatusConfirmed, o.Status)
	require.Equal(t, money.Amount(500), w.account(c.ID).Balance)
}

func TestProviderThatNeverAnswersTimesOut(t *testing.T) {
	t.Parallel()
	w := setup(t, withPolicy(fastPolicy),
		service.WithPaymentProvider(&payments.FaultyProvider{Next: payments.BalanceProvider{}, Hang: true}),
		service.WithPaymentTimeout(100*time.Millisecond))
	p := w.product(3, 500)
	c := w.customer(1000)

	o := w.settled(w.place(c.ID, item(p, 2)).ID)

	require.Equal(t, messages.StatusFailed, o.Status)
	require.Equal(t, errcode.SagaTimeout, o.Failure.Code)
	require.Equal(t, 3, w.stock(p.ID).Available, "the reservation was compensated")
	require.Equal(t, 0, w.stock(p.ID).Reserved)
	require.Equal(t, money.Amount(1000), w.account(c.ID).Balance)
	require.Zero(t, w.account(c.ID).Held)
}

func TestCancellationCompensates(t *testing.T) {
	t.Parallel()
	// A slow provider holds the saga in AUTHORIZING long enough to cancel
	// there; a cancellation right after placing lands while reserving.
	w := setup(t, service.WithPaymentProvider(&payments.FaultyProvider{Next: payments.BalanceProvider{}, Latency: 1500 * time.Millisecond}))
	p := w.product(5, 300)
	c := w.customer(1000)
	ctx := context.Background()

	early := w.place(c.ID, item(p, 1))
	_, err := w.App.Commands.CancelOrder.Handle(ctx, admin, early.ID, "changed my mind")
	require.NoError(t, err)

	during := w.place(c.ID, item(p, 2))
	require.Eventually(t, func() bool {
		st, err := w.sagaState(during.ID)
		require.NoError(t, err)
		return st != nil && st.Phase == sagas.PhaseAuthorizing
	}, 30*time.Second, 10*time.Millisecond)
	_, err = w.App.Commands.CancelOrder.Handle(ctx, admin, during.ID, "")
	require.NoError(t, err)

	for _, id := range []string{early.ID, during.ID} {
		o := w.settled(id)
		require.Equal(t, messages.StatusCancelled, o.Status, id)
		require.Nil(t, o.Failure, "a cancellation on request is no failure: %s", id)
		w.skippedAsApplied(id)
	}
	// The slow authorization of the second order may land after the
	// cancellation; the saga voids it. Wait for the account to be whole.
	require.Eventually(t, func() bool {
		a := w.account(c.ID)
		return a.Balance == 1000 && a.Held == 0
	}, 30*time.Second, 25*time.Millisecond)
	require.Equal(t, 5, w.stock(p.ID).Available)
	require.Equal(t, 0, w.stock(p.ID).Reserved)

	// After confirmation a cancellation is refused.
	done := w.settled(w.place(c.ID, item(p, 1)).ID)
	require.Equal(t, messages.StatusConfirmed, done.Status)
	_, err = w.App.Commands.CancelOrder.Handle(ctx, admin, done.ID, "too late")
	require.True(t, errcode.Is(err, errcode.Conflict), "got %v", err)
}

func TestEveryMessageDeliveredTwice(t *testing.T) {
	t.Parallel()
	w := setup(t, service.WithBatchMiddleware(consumer.Duplicator))
	p := w.product(10, 700)
	poor := w.customer(100)
	rich := w.customer(5000)

	confirmed := w.settled(w.place(rich.ID, item(p, 2)).ID)
	cancelled := w.settled(w.place(poor.ID, item(p, 1)).ID)

	require.Equal(t, messages.StatusConfirmed, confirmed.Status)
	require.Equal(t, messages.StatusCancelled, cancelled.Status)
	require.Equal(t, 8, w.stock(p.ID).Available)
	require.Equal(t, 0, w.stock(p.ID).Reserved)
	require.Equal(t, money.Amount(5000-1400), w.account(rich.ID).Balance)
	require.Equal(t, money.Amount(100), w.account(poor.ID).Balance)
	events, err := w.App.Queries.OrderEvents.Handle(context.Background(), admin, confirmed.ID, false)
	require.NoError(t, err)
	seen := map[string]int{}
	for _, e := range events {
		seen[e.Type]++
	}
	require.Equal(t, 1, seen["ordering.OrderPlaced"])
	require.Equal(t, 1, seen["ordering.OrderConfirmed"])
	require.Equal(t, 2, seen["ordering.OrderStepCompleted"], "INVENTORY_RESERVED and PAYMENT_AUTHORIZED once each")
}

func TestWorkerRestartedMidSaga(t *testing.T) {
	t.Parallel()
	w := &world{System: systemtest.Start(t, systemtest.Options{NoWorker: true, NoProjector: true}), t: t}

	// A worker whose provider is slow, so sagas are mid-flight when it dies.
	first := w.Open(service.WithPaymentProvider(&payments.FaultyProvider{Next: payments.BalanceProvider{}, Latency: 300 * time.Millisecond}))
	stopFirst := w.StartWorker(first)

	p := w.product(20, 100)
	c := w.customer(10000)
	var ids []string
	for range 5 {
		ids = append(ids, w.place(c.ID, item(p, 1)).ID)
	}
	require.Eventually(t, func() bool {
		st, err := w.sagaState(ids[0])
		require.NoError(t, err)
		return st != nil && st.Phase != sagas.PhaseReserving
	}, 30*time.Second, 10*time.Millisecond)
	stopFirst()
	first.Close()

	w.StartWorker(w.Open())
	for _, id := range ids {
		require.Equal(t, messages.StatusConfirmed, w.settled(id).Status)
	}
	require.Equal(t, 15, w.stock(p.ID).Available)
	require.Equal(t, 0, w.stock(p.ID).Reserved)
	acct := w.account(c.ID)
	require.Equal(t, money.Amount(10000-5*100), acct.Balance, "each order charged exactly once")
	require.Zero(t, acct.Held)
}

// The saga starts in the transaction that records OrderPlaced: its state
// is there the moment placeOrder answers, with no Kafka message consumed
// (no worker runs), and OrderPlaced arriving from Kafka later changes
// nothing.
func TestSagaStartsInThePlacementTransaction(t *testing.T) {
	t.Parallel()
	w := &world{System: systemtest.Start(t, systemtest.Options{NoWorker: true, NoProjector: true}), t: t}
	ctx := context.Background()
	p := w.product(10, 100)
	c := w.customer(10000)

	o := w.place(c.ID, item(p, 2))

	st, err := w.sagaState(o.ID)
	require.NoError(t, err)
	require.NotNil(t, st, "the saga exists when placeOrder answers")
	require.Equal(t, sagas.PhaseReserving, st.Phase)
	require.Equal(t, []sagas.Line{{ProductID: p.ID, Quantity: 2, State: sagas.PartPending}}, st.Lines)
	require.False(t, st.Deadline.IsZero(), "the deadline is armed: it sends the reservation again if the first send is lost")
	var sameTx, processed bool
	require.NoError(t, w.Env.Pool.QueryRow(ctx, `SELECT s.xmin::text = (e.transaction_id::text::bigint % 4294967296)::text,
			e.event_id = ANY (s.applied)
		FROM sagas.order_sagas s JOIN ordering.events e ON e.stream_id = s.order_id AND e.version = 1
		WHERE s.order_id = $1`, o.ID).Scan(&sameTx, &processed))
	require.True(t, sameTx, "the saga's state was written by the transaction that appended OrderPlaced")
	require.True(t, processed, "OrderPlaced is recorded as processed by the saga")

	// OrderPlaced as the saga's consumer receives it from Kafka: nothing
	// happens twice.
	records, err := w.Service.Handlers().Orders.Store().ReadStream(ctx, w.Env.Pool, o.ID, 0)
	require.NoError(t, err)
	placed, err := records[0].Decode()
	require.NoError(t, err)
	saga := w.Service.Sagas
	require.NoError(t, saga.HandleEvent(ctx, records[0].EventID.String(), placed))
	again, err := w.sagaState(o.ID)
	require.NoError(t, err)
	require.Equal(t, st, again)

	// A worker now consumes everything: the order runs through once.
	w.StartWorker(w.Service)
	require.Equal(t, messages.StatusConfirmed, w.settled(o.ID).Status)
	require.Equal(t, 8, w.stock(p.ID).Available, "reserved and committed once")
	require.Equal(t, money.Amount(10000-200), w.account(c.ID).Balance, "charged once")
}

// The API process dies after the placement committed and before it sent
// the saga's first commands: the saga's durable deadline sends them, and
// the order completes.
func TestCrashBeforeTheFirstSendIsHealedByTheDeadline(t *testing.T) {
	t.Parallel()
	w := &world{System: systemtest.Start(t, systemtest.Options{NoWorker: true, NoProjector: true, Service: []service.Option{withPolicy(fastPolicy)}}), t: t}
	ctx := context.Background()
	p := w.product(10, 100)
	c := w.customer(10000)
	saga := w.Service.Sagas

	orderID := app.OrderID(c.ID, "crash")
	cmd := messages.PlaceOrder{
		OrderID: orderID, CustomerID: c.ID, IdempotencyKey: "crash",
		Items:           []messages.OrderLine{{ProductID: p.ID, ProductName: p.Name, SKU: p.SKU, Quantity: 3, UnitPrice: p.Price}},
		ShippingAddress: messages.Address{Street: "1 Main St", City: "Springfield", Zip: "12345", Country: "US"},
		PaymentMethod:   messages.PaymentMethod{Type: "card", Token: "tok_4242"},
	}
	_, err := w.Service.Handlers().PlaceOrder(ctx, handlers.Message{ID: orderID, CorrelationID: orderID}, cmd, handlers.With[*ordering.Order]{
		InTx: func(ctx context.Context, tx pgx.Tx, res handlers.Result) (func(), error) {
			_, err := saga.StartInTx(ctx, tx, res)
			return nil, err // the process dies after the commit: the first commands are never sent
		},
	})
	require.NoError(t, err)
	st, err := w.sagaState(orderID)
	require.NoError(t, err)
	require.Equal(t, sagas.PhaseReserving, st.Phase)

	w.StartWorker(w.Service)
	o := w.settled(orderID)

	require.Equal(t, messages.StatusConfirmed, o.Status)
	require.Equal(t, 7, w.stock(p.ID).Available)
	require.Equal(t, money.Amount(10000-300), w.account(c.ID).Balance)
	require.Positive(t, w.deadlinesPassed(sagas.PhaseReserving), "the reservation was sent by the deadline")
}

// deadlinesPassed reads saga_deadline_total for phase.
func (w *world) deadlinesPassed(phase sagas.Phase) float64 {
	w.t.Helper()
	families, err := w.Service.Metrics.Gather()
	require.NoError(w.t, err)
	var n float64
	for _, f := range families {
		if f.GetName() != "saga_deadline_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "phase" && l.GetValue() == string(phase) {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}
