package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/config"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/internal/systemtest"
	"github.com/orderflow/orderflow/internal/testenv"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/projections"
	"github.com/orderflow/orderflow/projections/documents"
	"github.com/orderflow/orderflow/query"
	"github.com/orderflow/orderflow/sagas"
)

var admin = auth.Principal{Subject: "ops", Roles: []auth.Role{auth.RoleAdmin}}

// world is one test's orderflow: the real write path (relays, command
// handlers, saga) on real PostgreSQL and Kafka, a projector on real
// Elasticsearch, and the query readers.
type world struct {
	t    *testing.T
	env  *testenv.Env
	svc  *service.Service
	app  app.Application
	saga *sagas.Processor
	proj *projections.Projector
	reg  *prometheus.Registry

	orders    *query.OrdersIndex
	products  *query.ProductsIndex
	customers *query.CustomersIndex
}

type worldOptions struct {
	// live runs the Kafka projectors; without it the test feeds Apply.
	live bool
	// writePath runs relays, command handlers and the saga.
	writePath bool
	// relays runs only the relays, for events the test appends itself.
	relays bool
	// logger replaces the projector's logger.
	logger *slog.Logger
}

func setup(t *testing.T, opts worldOptions) *world {
	t.Helper()
	env := testenv.New(t)
	w := &world{t: t, env: env, reg: prometheus.NewRegistry()}
	var err error
	w.svc, err = service.Open(context.Background(), env.Config, env.Logger)
	require.NoError(t, err)
	t.Cleanup(w.svc.Close)
	// The process's projector owns the held documents' dead letters (an
	// operator's replay re-projects with it; they cannot be discarded).
	_, err = w.svc.NewProjector()
	require.NoError(t, err)

	logger := env.Logger.With("component", "projections")
	if opts.logger != nil {
		logger = opts.logger
	}
	cfg := projections.DefaultConfig(env.Config, w.svc.Elastic, w.svc.Pools, w.reg, logger)
	cfg.AliasTTL, cfg.RebuildSettle = 200*time.Millisecond, 600*time.Millisecond
	cfg.DeadLetters = w.svc.DeadLetterStore()
	w.proj, err = projections.New(cfg)
	require.NoError(t, err)
	require.NoError(t, w.proj.EnsureIndexes(context.Background()))

	w.orders = query.NewOrdersIndex(w.svc.Elastic, w.proj.Alias(projections.Orders))
	w.products = query.NewProductsIndex(w.svc.Elastic, w.proj.Alias(projections.Products))
	w.customers = query.NewCustomersIndex(w.svc.Elastic, w.proj.Alias(projections.Customers))

	if opts.writePath || opts.relays {
		relays, err := w.svc.Relays()
		require.NoError(t, err)
		for _, r := range relays {
			systemtest.Run(t, r.Run)
		}
	}
	if opts.writePath {
		commands, err := w.svc.CommandProcessor()
		require.NoError(t, err)
		w.saga, err = w.svc.OpenSagas()
		require.NoError(t, err)
		sagaEvents, err := w.svc.SagaConsumer(w.saga)
		require.NoError(t, err)
		systemtest.Run(t, commands.Run, sagaEvents.Run, w.saga.RunDeadlines)
		waitRunning(t, commands.Running())
		waitRunning(t, sagaEvents.Running())
		w.app = w.svc.Application(w.saga, w.proj, nil)
	}
	if opts.live {
		w.startProjector()
	}
	return w
}

// startProjector runs the live projectors of w.proj on the event topics.
func (w *world) startProjector() {
	w.t.Helper()
	require.NoError(w.t, w.svc.EnsureTopics())
	consumer, err := w.proj.NewConsumer(projections.KafkaSource{
		Brokers: w.env.Config.KafkaBrokers, ClientID: "orderflow-projector",
		Topic: w.env.Config.Topic, Group: w.env.Config.ConsumerGroup,
	})
	require.NoError(w.t, err)
	systemtest.Run(w.t, consumer.Run)
	select {
	case <-consumer.Running():
	case <-time.After(time.Minute):
		w.t.Fatal("projector did not start")
	}
}

func waitRunning(t *testing.T, running <-chan struct{}) {
	select {
	case <-running:
	case <-time.After(time.Minute):
		t.Fatal("consumer did not start")
	}
}

func (w *world) product(name string, stock int, price money.Amount) query.Product {
	w.t.Helper()
	p, err := w.app.Commands.CreateProduct.Handle(context.Background(), admin, app.CreateProduct{
		SKU: fmt.Sprintf("SKU-%d", rand.IntN(1e9)), Name: name, Price: price, InitialStock: stock,
	})
	require.NoError(w.t, err)
	return p
}

func (w *world) customer(name string, credit money.Amount) query.Customer {
	w.t.Helper()
	c, err := w.app.Commands.RegisterCustomer.Handle(context.Background(), admin, app.RegisterCustomer{
		Email: fmt.Sprintf("c%d@example.com", rand.IntN(1e9)), Name: name, InitialCredit: credit,
	})
	require.NoError(w.t, err)
	return c
}

func (w *world) place(customerID string, items ...app.OrderItem) query.Order {
	w.t.Helper()
	o, err := w.placeOrder(customerID, items...)
	require.NoError(w.t, err)
	return o
}

func (w *world) placeOrder(customerID string, items ...app.OrderItem) (query.Order, error) {
	return w.app.Commands.PlaceOrder.Handle(context.Background(), admin, app.PlaceOrder{
		CustomerID:      customerID,
		IdempotencyKey:  fmt.Sprintf("key-%d", rand.Int64()),
		Items:           items,
		ShippingAddress: messages.Address{Street: "1 Main St", City: "Springfield", Zip: "12345", Country: "US"},
		PaymentMethod:   messages.PaymentMethod{Type: "card", Token: "tok_4242"},
	})
}

func item(p query.Product, qty int) app.OrderItem {
	return app.OrderItem{ProductID: p.ID, Quantity: qty}
}

// settled waits until the order is final and its saga finished (late
// compensations are recorded after the order ends), and returns its view
// from the event store (not the read model).
func (w *world) settled(orderID string) query.Order {
	w.t.Helper()
	saga := w.saga
	var o query.Order
	require.Eventually(w.t, func() bool {
		st, err := saga.Get(context.Background(), orderID)
		if err != nil || st == nil || st.Active() {
			return false
		}
		agg, err := w.svc.Handlers().Orders.Load(context.Background(), orderID)
		o = app.OrderView(agg)
		return err == nil && o.Status.Terminal()
	}, time.Minute, 20*time.Millisecond, "order %s did not settle", orderID)
	return o
}

// projected waits until the read model of an order reaches version.
func (w *world) projected(orderID string, version int) query.Order {
	w.t.Helper()
	var o query.Order
	require.Eventually(w.t, func() bool {
		var err error
		o, err = w.orders.Order(context.Background(), orderID)
		return err == nil && o.Version >= version
	}, time.Minute, 20*time.Millisecond, "order %s was not projected up to version %d", orderID, version)
	return o
}

// storeEvents reads a stream of a context from the event store.
func (w *world) storeEvents(ctx config.Context, streamID string) []documents.Event {
	w.t.Helper()
	pool := w.svc.Pools[ctx]
	records, err := eventstore.New(pool, string(ctx)).ReadStream(context.Background(), pool, streamID, 0)
	require.NoError(w.t, err)
	out := make([]documents.Event, len(records))
	for i, r := range records {
		out[i], err = projections.EventFromRecord(r)
		require.NoError(w.t, err)
	}
	return out
}

// rawDocument reads a document straight from an index (or alias); false
// if it does not exist.
func rawDocument[D any](t *testing.T, w *world, index, id string) (D, bool) {
	t.Helper()
	var doc D
	realtime := true
	res, err := esapi.GetRequest{Index: index, DocumentID: id, Realtime: &realtime}.Do(context.Background(), w.svc.Elastic)
	require.NoError(t, err)
	defer res.Body.Close()
	if res.StatusCode == 404 {
		return doc, false
	}
	require.False(t, res.IsError(), res.String())
	var body struct {
		Version int64           `json:"_version"`
		Source  json.RawMessage `json:"_source"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
	require.NoError(t, json.Unmarshal(body.Source, &doc))
	return doc, true
}

// wantOrder is the document an order stream must project to: the fold of
// its events plus the customer's name and email.
func wantOrder(t *testing.T, events []documents.Event, c query.Customer) documents.Order {
	t.Helper()
	d, err := documents.FoldOrder(documents.NewOrder(events[0].StreamID), events...)
	require.NoError(t, err)
	d.CustomerName, d.CustomerEmail = c.Name, c.Email
	return d
}

// normalized round-trips a document through JSON, as the index stores it
// (times lose their monotonic clock and location).
func normalized[D any](t *testing.T, d D) D {
	t.Helper()
	b, err := json.Marshal(d)
	require.NoError(t, err)
	var out D
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}
