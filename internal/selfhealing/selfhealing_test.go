package selfhealing_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/command/domain/payments"
	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/internal/consumer"
	"github.com/orderflow/orderflow/internal/deadletter"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/internal/systemtest"
	"github.com/orderflow/orderflow/internal/testenv"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/query"
	"github.com/orderflow/orderflow/sagas"
)

var admin = systemtest.Admin

type world struct {
	*systemtest.System
	t *testing.T
}

func (w *world) product(stock int) query.Product {
	w.t.Helper()
	p, err := w.App.Commands.CreateProduct.Handle(context.Background(), admin, app.CreateProduct{
		SKU: fmt.Sprintf("SKU-%d", rand.IntN(1e9)), Name: "Widget", Price: 100, InitialStock: stock,
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

func (w *world) place(customerID, productID string) string {
	w.t.Helper()
	o, err := w.App.Commands.PlaceOrder.Handle(context.Background(), admin, app.PlaceOrder{
		CustomerID: customerID, IdempotencyKey: fmt.Sprintf("key-%d", rand.Int64()),
		Items:           []app.OrderItem{{ProductID: productID, Quantity: 1}},
		ShippingAddress: messages.Address{Street: "1 Main St", City: "Springfield", Zip: "12345", Country: "US"},
		PaymentMethod:   messages.PaymentMethod{Type: "card", Token: "tok_4242"},
	})
	require.NoError(w.t, err)
	return o.ID
}

// status reads the order from its stream (the source of truth).
func (w *world) status(orderID string) messages.OrderStatus {
	w.t.Helper()
	o, err := w.Service.Handlers().Orders.Load(context.Background(), orderID)
	require.NoError(w.t, err)
	return o.Status()
}

func (w *world) allFinal(ids []string) bool {
	for _, id := range ids {
		if !w.status(id).Terminal() {
			return false
		}
	}
	return true
}

func (w *world) deadLetters(f deadletter.Filter) deadletter.Page {
	w.t.Helper()
	page, err := w.Service.DeadLetterStore().List(context.Background(), f, 100, 0)
	require.NoError(w.t, err)
	return page
}

// metric returns the value of the series of name with labels in reg (0 if
// there is none).
func metric(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			switch {
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// Elasticsearch gone for 30 s while orders flow (a TCP proxy between the
// projector and the cluster, cut and restored): the projector's breaker
// opens, the consumer pauses (its lag shows) instead of dead-lettering,
// and the read model catches up after.
func TestElasticsearchOutagePausesTheProjectorWithoutDeadLetters(t *testing.T) {
	t.Parallel()
	w := &world{System: systemtest.Start(t, systemtest.Options{NoProjector: true, RetryLevels: []time.Duration{200 * time.Millisecond}}), t: t}
	es, err := url.Parse(w.Env.Config.ElasticsearchURL)
	require.NoError(t, err)
	proxy := testenv.NewProxy(t, es.Host)
	cfg := w.Env.Config
	cfg.ElasticsearchURL = "http://" + proxy.Addr()
	projector, err := service.Open(context.Background(), cfg, w.Env.Logger)
	require.NoError(t, err)
	t.Cleanup(projector.Close)
	p, err := projector.NewProjector()
	require.NoError(t, err)
	w.StartProjector(&systemtest.Process{Service: projector, Projector: p})
	orders := query.NewOrdersIndex(w.Service.Elastic, w.Env.Config.Index("orders"))

	product, customer := w.product(1000), w.customer(1_000_000)
	var ids []string
	for range 5 {
		ids = append(ids, w.place(customer.ID, product.ID))
	}
	require.Eventually(t, func() bool {
		o, err := orders.Order(context.Background(), ids[4])
		return err == nil && o.Status.Terminal()
	}, time.Minute, 50*time.Millisecond, "the projector works before the outage")

	proxy.Cut()
	outageEnds := time.Now().Add(30 * time.Second)
	opened := false
	breaker := func() float64 {
		return metric(t, projector.Metrics, "orderflow_circuit_breaker_state", map[string]string{"dependency": "elasticsearch"})
	}
	for time.Now().Before(outageEnds) {
		ids = append(ids, w.place(customer.ID, product.ID))
		time.Sleep(300 * time.Millisecond)
		opened = opened || breaker() == 2
	}
	require.True(t, opened, "the breaker opened")
	// Open, or half-open while its probe fails: never closed during the outage.
	require.NotZero(t, breaker(), "not closed while Elasticsearch is gone")
	require.Positive(t, metric(t, projector.Metrics, "orderflow_messages_retried_total", map[string]string{"level": "paused"}), "the projector paused")
	require.Zero(t, w.deadLetters(deadletter.Filter{}).Total, "an outage fills no dead-letter store")
	require.True(t, w.allFinal(ids[:len(ids)-3]), "the write side never needed Elasticsearch")

	proxy.Restore()
	require.Eventually(t, func() bool {
		for _, id := range ids {
			o, err := orders.Order(context.Background(), id)
			if err != nil || !o.Status.Terminal() {
				return false
			}
		}
		return true
	}, 2*time.Minute, 200*time.Millisecond, "the read model catches up")
	require.Equal(t, 0.0, metric(t, projector.Metrics, "orderflow_circuit_breaker_state", map[string]string{"dependency": "elasticsearch"}), "closed again")
	require.Zero(t, w.deadLetters(deadletter.Filter{}).Total)
}

// switchable is a payment provider that fails every call while down.
type switchable struct {
	down  atomic.Bool
	calls atomic.Int64
}

func (s *switchable) Authorize(ctx context.Context, req payments.Authorization) (payments.Answer, error) {
	s.calls.Add(1)
	if s.down.Load() {
		return payments.Answer{}, payments.ErrProviderUnavailable
	}
	return payments.BalanceProvider{}.Authorize(ctx, req)
}

// The payment provider fails every call for 20 s, then is healthy: the
// breaker opens and closes, no order is lost, every order ends final,
// and the dead-letter store is not flooded.
func TestPaymentProviderOutageOpensAndClosesTheBreaker(t *testing.T) {
	t.Parallel()
	provider := &switchable{}
	w := &world{System: systemtest.Start(t, systemtest.Options{NoProjector: true, Service: []service.Option{service.WithPaymentProvider(provider)}}), t: t}
	product, customer := w.product(1000), w.customer(1_000_000)

	provider.down.Store(true)
	var ids []string
	var opened atomic.Bool
	stopWatch := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if metric(t, w.Service.Metrics, "orderflow_circuit_breaker_state", map[string]string{"dependency": "payment_provider"}) == 2 {
				opened.Store(true)
			}
		}
	})
	outageEnds := time.Now().Add(20 * time.Second)
	for time.Now().Before(outageEnds) {
		ids = append(ids, w.place(customer.ID, product.ID))
		time.Sleep(500 * time.Millisecond)
	}
	callsDuringOutage := provider.calls.Load()
	provider.down.Store(false)
	for range 5 {
		ids = append(ids, w.place(customer.ID, product.ID))
	}
	require.Eventually(t, func() bool { return w.allFinal(ids) }, 2*time.Minute, 100*time.Millisecond, "every order ends final")
	close(stopWatch)
	wg.Wait()
	require.True(t, opened.Load(), "the breaker opened")
	require.Less(t, callsDuringOutage, int64(200), "an open breaker keeps the calls to a failing provider few")
	require.Eventually(t, func() bool {
		return metric(t, w.Service.Metrics, "orderflow_circuit_breaker_state", map[string]string{"dependency": "payment_provider"}) == 0
	}, time.Minute, 50*time.Millisecond, "closed again")
	require.Zero(t, w.deadLetters(deadletter.Filter{}).Total, "the dead-letter store is not flooded")
	confirmed := 0
	for _, id := range ids {
		if w.status(id) == messages.StatusConfirmed {
			confirmed++
		}
	}
	require.GreaterOrEqual(t, confirmed, 5, "the orders placed after the outage are confirmed")
}

// A transient database error on one handler: the message goes through
// the retries in place and a parked retry level, then succeeds; nothing
// is dead-lettered and the order ends CONFIRMED.
func TestTransientErrorIsRetriedThroughTheLevels(t *testing.T) {
	t.Parallel()
	var failing atomic.Value // the order id whose reservation fails
	failing.Store("")
	var failures atomic.Int64
	fault := func(next consumer.Handler) consumer.Handler {
		return func(ctx context.Context, batch []consumer.Message) error {
			for _, m := range batch {
				if id := failing.Load().(string); id != "" && m.Metadata.Get("name") == "inventory.ReserveStock" &&
					string(m.Payload) != "" && contains(m.Payload, id) && failures.Load() < 6 {
					failures.Add(1)
					return errors.New("FATAL: terminating connection due to administrator command (SQLSTATE 57P01)")
				}
			}
			return next(ctx, batch)
		}
	}
	w := &world{System: systemtest.Start(t, systemtest.Options{NoProjector: true,
		RetryLevels: []time.Duration{300 * time.Millisecond, 600 * time.Millisecond, time.Second},
		Service:     []service.Option{service.WithBatchMiddleware(fault)},
	}), t: t}
	product, customer := w.product(10), w.customer(100_000)
	first := w.place(customer.ID, product.ID)
	require.Eventually(t, func() bool { return w.status(first) == messages.StatusConfirmed }, time.Minute, 50*time.Millisecond)

	// The next order's id is known only once placed: fail its reservation
	// from then on (the saga resends with the same id on its deadline).
	orderID := placeFailing(w, customer.ID, product.ID, &failing)
	require.Eventually(t, func() bool { return w.status(orderID) == messages.StatusConfirmed }, time.Minute, 50*time.Millisecond)
	require.GreaterOrEqual(t, failures.Load(), int64(5), "it failed in place and after parking")
	page := w.deadLetters(deadletter.Filter{Handler: handlers.InventoryCommandsHandler})
	require.Equal(t, 1, page.Total)
	e := page.Entries[0]
	require.Equal(t, deadletter.StatusReplayed, e.Status, "retried by the scheduler until it passed")
	require.Equal(t, deadletter.Transient, e.Class)
	require.Positive(t, metric(t, w.Service.Metrics, "orderflow_messages_retried_total", map[string]string{"handler": handlers.InventoryCommandsHandler, "level": "1"}))
	require.Zero(t, w.deadLetters(deadletter.Filter{Status: deadletter.StatusDead}).Total)
}

func placeFailing(w *world, customerID, productID string, failing *atomic.Value) string {
	// Orders get their id when placed; the fault matches on the product,
	// which is the failing order's only, so set it first.
	failing.Store(productID)
	return w.place(customerID, productID)
}

func contains(b []byte, s string) bool {
	return len(s) > 0 && bytes.Contains(b, []byte(s))
}

// A worker is stopped while a message it parked is waiting for its next
// retry: the parked message survives in PostgreSQL, the other worker's
// scheduler takes the handler over and retries it, and the order ends
// CONFIRMED once the cause is gone.
func TestParkedMessagesSurviveTheWorkerThatParkedThem(t *testing.T) {
	t.Parallel()
	var poisoned atomic.Bool
	poisoned.Store(true)
	var product atomic.Value
	product.Store("")
	fault := func(next consumer.Handler) consumer.Handler {
		return func(ctx context.Context, batch []consumer.Message) error {
			for _, m := range batch {
				if poisoned.Load() && m.Metadata.Get("name") == "inventory.ReserveStock" && contains(m.Payload, product.Load().(string)) {
					return errors.New("could not serialize access due to concurrent update (SQLSTATE 40001)")
				}
			}
			return next(ctx, batch)
		}
	}
	levels := make([]time.Duration, 40)
	for i := range levels {
		levels[i] = 300 * time.Millisecond
	}
	w := &world{System: systemtest.Start(t, systemtest.Options{NoWorker: true, NoProjector: true, RetryLevels: levels}), t: t}
	first := w.Open(service.WithBatchMiddleware(fault))
	stopFirst := w.StartWorker(first)

	p, customer := w.product(10), w.customer(100_000)
	product.Store(p.ID)
	orderID := w.place(customer.ID, p.ID)
	var entry deadletter.Entry
	require.Eventually(t, func() bool {
		page := w.deadLetters(deadletter.Filter{Handler: handlers.InventoryCommandsHandler})
		if page.Total != 1 {
			return false
		}
		entry = page.Entries[0]
		return entry.Level >= 1 // the first worker's scheduler has retried it: it holds the lease
	}, time.Minute, 20*time.Millisecond)

	second := w.Open(service.WithBatchMiddleware(fault))
	w.StartWorker(second)
	stopFirst()
	retried := func() float64 {
		total := 0.0
		for i := 1; i <= len(levels); i++ {
			total += metric(t, second.Metrics, "orderflow_messages_retried_total", map[string]string{"handler": handlers.InventoryCommandsHandler, "level": fmt.Sprint(i)})
		}
		return total
	}
	before := retried()

	// The second worker's scheduler goes on retrying it alone.
	require.Eventually(t, func() bool { return retried() >= before+2 }, time.Minute, 50*time.Millisecond,
		"the other worker retries the parked message")

	poisoned.Store(false)
	require.Eventually(t, func() bool { return w.status(orderID) == messages.StatusConfirmed }, time.Minute, 50*time.Millisecond)
	got, err := w.Service.DeadLetterStore().Get(context.Background(), entry.ID)
	require.NoError(t, err)
	require.Equal(t, deadletter.StatusReplayed, got.Status)
}

// A command whose handler fails every time for one product: it goes
// through the levels and is dead-lettered (transient), the product's later
// commands (the saga's compensation of the timed-out order) park behind
// it, other orders keep flowing, and after the fix a replay of the
// product delivers them in order: the order ends final and the stock is
// whole again.
func TestPoisonCommandParksItsAggregateUntilReplayed(t *testing.T) {
	t.Parallel()
	var broken atomic.Value
	broken.Store("")
	fault := func(next consumer.Handler) consumer.Handler {
		return func(ctx context.Context, batch []consumer.Message) error {
			for _, m := range batch {
				if id := broken.Load().(string); id != "" && m.Metadata.Get("name") == "inventory.ReserveStock" && contains(m.Payload, id) {
					return errors.New("handler bug: index out of range")
				}
			}
			return next(ctx, batch)
		}
	}
	w := &world{System: systemtest.Start(t, systemtest.Options{NoProjector: true,
		RetryLevels: []time.Duration{100 * time.Millisecond, 100 * time.Millisecond},
		Service: []service.Option{
			service.WithBatchMiddleware(fault),
			service.WithSagaConfig(func(c *sagas.Config) {
				c.Policy.StepTimeout = 2 * time.Second
				c.Policy.MaxAttempts = 2
			}),
		},
	}), t: t}
	ctx := context.Background()
	poisoned, healthy, customer := w.product(10), w.product(100), w.customer(1_000_000)
	broken.Store(poisoned.ID)

	x := w.place(customer.ID, poisoned.ID)
	var head deadletter.Entry
	require.Eventually(t, func() bool {
		page := w.deadLetters(deadletter.Filter{AggregateID: poisoned.ID, Status: deadletter.StatusDead})
		if page.Total != 1 {
			return false
		}
		head = page.Entries[0]
		return true
	}, time.Minute, 20*time.Millisecond, "dead after the levels")
	require.Equal(t, deadletter.Transient, head.Class)
	require.Equal(t, "inventory.ReserveStock", head.Type)
	require.Equal(t, "handler bug: index out of range", head.Error)

	// Other orders flow meanwhile, on the same partitions.
	start := time.Now()
	var others []string
	for range 5 {
		others = append(others, w.place(customer.ID, healthy.ID))
	}
	require.Eventually(t, func() bool { return w.allFinal(others) }, 30*time.Second, 20*time.Millisecond)
	require.Less(t, time.Since(start), 15*time.Second, "at normal latency")
	for _, id := range others {
		require.Equal(t, messages.StatusConfirmed, w.status(id))
	}

	// A later order of the product: its reservation waits behind X's, not
	// even tried; both sagas give up after their deadlines.
	y := w.place(customer.ID, poisoned.ID)
	require.Eventually(t, func() bool {
		page := w.deadLetters(deadletter.Filter{AggregateID: poisoned.ID, Class: deadletter.Waiting})
		return page.Total == 1 && page.Entries[0].Type == "inventory.ReserveStock" && page.Entries[0].Attempts == 0
	}, time.Minute, 50*time.Millisecond, "the next reservation parks behind the dead one")
	require.Eventually(t, func() bool { return w.allFinal([]string{x, y}) }, time.Minute, 50*time.Millisecond)

	// Fixed; the operator replays the product: reservation, then release.
	broken.Store("")
	_, err := w.Service.DeadLetterStore().Replay(ctx, nil, poisoned.ID, "ops")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return w.deadLetters(deadletter.Filter{AggregateID: poisoned.ID, Status: deadletter.StatusParked}).Total == 0 &&
			w.deadLetters(deadletter.Filter{AggregateID: poisoned.ID, Status: deadletter.StatusDead}).Total == 0
	}, time.Minute, 50*time.Millisecond)
	require.Eventually(t, func() bool {
		p, err := w.Service.Handlers().Products.Load(ctx, poisoned.ID)
		require.NoError(t, err)
		return p.Available() == 10 && p.Reserved() == 0 && p.Version() >= 5
	}, time.Minute, 50*time.Millisecond, "reserved late, then released by the sagas that gave up, in order")
	for _, id := range []string{x, y} {
		require.NotEqual(t, messages.StatusConfirmed, w.status(id), "given up after its deadline")
	}
}

// An order whose reservation was lost (acknowledged, never handled) waits
// on its saga; the support operation re-drives it: the reservation is sent
// again under a new message id and the order is confirmed long before the
// saga's own deadline would have re-sent it.
func TestRedriveFinishesAStuckSaga(t *testing.T) {
	t.Parallel()
	var lose atomic.Value
	lose.Store("")
	var lost atomic.Int64
	drop := func(next consumer.Handler) consumer.Handler {
		return func(ctx context.Context, batch []consumer.Message) error {
			kept := batch[:0:0]
			for _, m := range batch {
				if id := lose.Load().(string); id != "" && m.Metadata.Get("name") == "inventory.ReserveStock" && contains(m.Payload, id) && lost.Load() == 0 {
					lost.Add(1)
					continue // lost: acknowledged without effect
				}
				kept = append(kept, m)
			}
			return next(ctx, kept)
		}
	}
	w := &world{System: systemtest.Start(t, systemtest.Options{NoProjector: true, Service: []service.Option{
		service.WithBatchMiddleware(drop),
		service.WithSagaConfig(func(c *sagas.Config) { c.Policy.StepTimeout = 5 * time.Minute }),
	}}), t: t}
	p, customer := w.product(10), w.customer(100_000)
	lose.Store(p.ID)
	orderID := w.place(customer.ID, p.ID)
	require.Eventually(t, func() bool { return lost.Load() == 1 }, time.Minute, 20*time.Millisecond)
	time.Sleep(time.Second)
	require.Equal(t, messages.StatusPending, w.status(orderID), "stuck: its reservation never arrived")

	res, err := w.App.Commands.RedriveOrderSaga.Handle(context.Background(), admin, orderID)
	require.NoError(t, err)
	require.Equal(t, "RESERVING", string(res.Phase))
	require.Len(t, res.Sent, 1)
	require.Equal(t, "inventory.ReserveStock", res.Sent[0].Message.CommandName())
	require.Eventually(t, func() bool { return w.status(orderID) == messages.StatusConfirmed }, 30*time.Second, 20*time.Millisecond)
}
