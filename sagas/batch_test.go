package sagas_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/command/bus"
	"github.com/orderflow/orderflow/internal/config"
	"github.com/orderflow/orderflow/internal/consumer"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/internal/systemtest"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/sagas"
)

// countingSender sends over the real bus and counts what it sent.
type countingSender struct {
	next sagas.CommandSender
	sent atomic.Int64
}

func (c *countingSender) Send(ctx context.Context, cmd messages.Command, env bus.Envelope) (string, error) {
	c.sent.Add(1)
	return c.next.Send(ctx, cmd, env)
}

// countedSaga is a saga processor of the world's service, apart from its
// consumers, sending over the real bus and counting what it sends.
func (w *world) countedSaga() (*sagas.Processor, *countingSender) {
	w.t.Helper()
	b, err := w.Service.OpenBus()
	require.NoError(w.t, err)
	sender := &countingSender{next: b}
	saga := sagas.NewProcessor(sagas.DefaultConfig(), w.Service.Pools[config.Ordering], w.Service.Handlers(), sender, prometheus.NewRegistry(), w.Env.Logger)
	w.t.Cleanup(saga.Drain)
	return saga, sender
}

// stockReserved reads the inventory events topic until it has the
// StockReserved of each order, as the saga's consumer would receive them.
func (w *world) stockReserved(orderIDs ...string) map[string]consumer.Message {
	w.t.Helper()
	var mu sync.Mutex
	found := map[string]consumer.Message{}
	wanted := map[string]bool{}
	for _, id := range orderIDs {
		wanted[id] = true
	}
	cfg := w.Env.Config
	reader, err := consumer.New(consumer.Config{
		Name: "test.reader", Group: cfg.ConsumerGroup("test.reader"),
		Topics:  []string{cfg.Topic(messages.EventsTopic("inventory"))},
		Brokers: cfg.KafkaBrokers, Logger: w.Env.Logger,
	}, func(_ context.Context, batch []consumer.Message) error {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range batch {
			env, err := messages.ParseEnvelope(m.Metadata)
			var e messages.Event
			if err == nil {
				e, err = messages.DecodeEvent(env.EventType, m.Payload)
			}
			if err != nil {
				w.t.Errorf("inventory event at offset %d: %v", m.Offset, err) // not FailNow: another goroutine
				continue
			}
			if r, ok := e.(messages.StockReserved); ok && wanted[r.OrderID] {
				found[r.OrderID] = m
			}
		}
		return nil
	})
	require.NoError(w.t, err)
	stop := systemtest.Run(w.t, reader.Run)
	defer stop()
	require.Eventually(w.t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(found) == len(orderIDs)
	}, time.Minute, 20*time.Millisecond)
	return found
}

// TestBatchInOneTransactionBusyOrderWaitsAloneAndRedeliveredChangesNothing
// hands the saga a batch as the consumer loop would: the events of two
// orders (their keys differ). The first order's saga is busy in another
// transaction (a deadline, another worker): the second is handled at
// once, the first once its lock is free. Handling the batch again, as
// after a crash between the saga's commit and the offset commit, changes
// nothing and sends nothing.
func TestBatchInOneTransactionBusyOrderWaitsAloneAndRedeliveredChangesNothing(t *testing.T) {
	t.Parallel()
	// The command handlers run, the saga's event consumers do not: the
	// test is the saga's consumer.
	w := &world{System: systemtest.Start(t, systemtest.Options{NoSaga: true, NoProjector: true}), t: t}
	c := w.customer(10000)
	slow := w.place(c.ID, item(w.product(5, 100), 1))
	quick := w.place(c.ID, item(w.product(5, 100), 1))
	reserved := w.stockReserved(slow.ID, quick.ID)
	batch := []consumer.Message{reserved[slow.ID], reserved[quick.ID]}
	require.NotEqual(t, batch[0].Key, batch[1].Key, "the record key is the product")

	saga, sender := w.countedSaga()

	// Another transaction holds the slow order's saga.
	ctx := context.Background()
	holder, err := w.Service.Pools[config.Ordering].Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = holder.Rollback(ctx) }()
	_, err = holder.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, sagas.SagaLockClass, slow.ID)
	require.NoError(t, err)

	reservedStep := func(orderID string) bool {
		st, err := saga.Get(ctx, orderID)
		require.NoError(t, err)
		return slices.Contains(st.CompletedSteps(), messages.StepInventoryReserved)
	}
	handled := make(chan error, 1)
	go func() { handled <- saga.HandleBatch(ctx, batch) }()
	require.Eventually(t, func() bool { return reservedStep(quick.ID) }, 30*time.Second, 10*time.Millisecond,
		"the second order moves on while the first one's saga is busy elsewhere")
	require.False(t, reservedStep(slow.ID))
	select {
	case err := <-handled:
		t.Fatalf("the batch returned (%v) before its busy order was handled", err)
	case <-time.After(100 * time.Millisecond):
	}
	require.NoError(t, holder.Rollback(ctx))
	require.NoError(t, <-handled)
	require.True(t, reservedStep(slow.ID))

	// Both sagas now wait for their authorizations; nothing else moves
	// them (no saga consumer, no deadlines run here).
	saga.Drain()
	sent := sender.sent.Load()
	require.Equal(t, int64(2), sent, "one AuthorizePayment per order")
	before := map[string]*sagas.State{}
	events := map[string]int{}
	for _, id := range []string{slow.ID, quick.ID} {
		before[id], err = saga.Get(context.Background(), id)
		require.NoError(t, err)
		events[id] = len(w.order(id).CompletedSteps)
	}

	require.NoError(t, saga.HandleBatch(context.Background(), batch), "redelivered")
	require.Equal(t, sent, sender.sent.Load(), "nothing sent again")
	for _, id := range []string{slow.ID, quick.ID} {
		st, err := saga.Get(context.Background(), id)
		require.NoError(t, err)
		require.Equal(t, before[id], st)
		require.Equal(t, events[id], len(w.order(id).CompletedSteps))
	}
	var stepsRecorded int
	require.NoError(t, w.Env.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM ordering.events WHERE stream_id = ANY($1) AND event_type = 'ordering.OrderStepCompleted'`,
		[]string{slow.ID, quick.ID}).Scan(&stepsRecorded))
	require.Equal(t, 2, stepsRecorded, "INVENTORY_RESERVED once per order")
}

// placedMessage is an OrderPlaced record of a new order as the saga's
// ordering consumer receives it, caused by the message causationID.
func placedMessage(t *testing.T, orderID, productID, customerID, causationID string) consumer.Message {
	t.Helper()
	placed := messages.OrderPlaced{
		OrderID: orderID, CustomerID: customerID, Currency: money.DefaultCurrency, Total: 100, PlacedAt: time.Now(),
		Items: []messages.OrderLine{{ProductID: productID, ProductName: "p", SKU: "P", Quantity: 1, UnitPrice: 100}},
	}
	payload, err := json.Marshal(placed)
	require.NoError(t, err)
	env := messages.Envelope{
		EventID: uuid.NewString(), EventType: placed.EventType(), StreamID: orderID, StreamType: "Order",
		Version: 1, Position: 1, CorrelationID: orderID, CausationID: causationID, OccurredAt: time.Now(),
	}
	msg := message.NewMessage(env.EventID, payload)
	for k, v := range env.Headers() {
		msg.Metadata.Set(k, v)
	}
	return consumer.Message{Message: msg, Topic: messages.OrderingEventsTopic, Key: orderID}
}

// TestOrderPlacedOfAPlacementIsKnownFromItsEnvelope: an OrderPlaced caused
// by the order's own id is a placement's, which started the saga in its
// transaction (handlers.PlaceOrder refuses any other), so the saga's
// consumer skips it without a look-up; an OrderPlaced caused by another
// message (an older version's placement over the bus) still starts the
// saga when it has none.
func TestOrderPlacedOfAPlacementIsKnownFromItsEnvelope(t *testing.T) {
	t.Parallel()
	w := &world{System: systemtest.Start(t, systemtest.Options{NoSaga: true, NoProjector: true}), t: t}
	p := w.product(5, 100)
	c := w.customer(10000)
	saga, sender := w.countedSaga()
	ctx := context.Background()

	placement, overBus := uuid.NewString(), uuid.NewString()
	require.NoError(t, saga.HandleBatch(ctx, []consumer.Message{
		placedMessage(t, placement, p.ID, c.ID, placement),
		placedMessage(t, overBus, p.ID, c.ID, uuid.NewString()),
	}))
	saga.Drain()

	st, err := saga.Get(ctx, placement)
	require.NoError(t, err)
	require.Nil(t, st, "skipped: the placement started its saga already")
	st, err = saga.Get(ctx, overBus)
	require.NoError(t, err)
	require.NotNil(t, st, "an OrderPlaced of another message starts the saga")
	require.Equal(t, sagas.PhaseReserving, st.Phase)
	require.Equal(t, int64(1), sender.sent.Load(), "one ReserveStock, for the order placed over the bus")
}
