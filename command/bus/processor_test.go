package bus_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/command/bus"
	"github.com/orderflow/orderflow/command/domain/inventory"
	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/internal/deadletter"
	"github.com/orderflow/orderflow/internal/kafka"
	"github.com/orderflow/orderflow/internal/testenv"
	"github.com/orderflow/orderflow/messages"
)

type world struct {
	env *testenv.Env
	svc *service.Service
	bus *bus.Bus
	// logs holds what the service logged.
	logs *syncBuffer
}

// setup opens a service tuned by opts on the test's own database and
// topics, logging into w.logs too.
func setup(t *testing.T, opts ...service.Option) world {
	t.Helper()
	env := testenv.New(t)
	logs := &syncBuffer{}
	logger := slog.New(teeHandler{env.Logger.Handler(), slog.NewJSONHandler(logs, nil)})
	svc, err := service.Open(context.Background(), env.Config, logger, opts...)
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	b, err := svc.OpenBus()
	require.NoError(t, err)
	return world{env: env, svc: svc, bus: b, logs: logs}
}

// run runs p until the test ends (or the returned stop), once it joined.
func run(t *testing.T, p *bus.Processor) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		require.NoError(t, p.Run(ctx))
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	select {
	case <-p.Running():
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("command consumers did not start")
	}
	return stop
}

// processor returns a processor of the inventory handler wrapped by wrap.
func (w world) processor(t *testing.T, wrap func(handlers.BusHandler) handlers.BusHandler) *bus.Processor {
	t.Helper()
	var inv handlers.BusHandler
	for _, bh := range w.svc.Handlers().BusHandlers() {
		if bh.Name == handlers.InventoryCommandsHandler {
			inv = bh
		}
	}
	require.NotNil(t, inv.Handle)
	p, err := bus.NewProcessor(bus.ProcessorConfig{
		Brokers: w.env.Config.KafkaBrokers, ClientID: "bus-test",
		Topic: w.env.Config.Topic, Group: w.env.Config.ConsumerGroup,
		Rejected: bus.NewRejectedMetrics(nil), Logger: w.svc.Logger,
	}, wrap(inv))
	require.NoError(t, err)
	return p
}

func (w world) createProduct(t *testing.T, stock int) string {
	t.Helper()
	id := uuid.NewString()
	_, err := w.svc.Handlers().CreateProduct(context.Background(), handlers.Message{ID: uuid.NewString()},
		messages.CreateProduct{ProductID: id, SKU: "SKU-" + id, Name: "Mug", Price: 100, InitialStock: stock}, handlers.With[*inventory.Product]{})
	require.NoError(t, err)
	return id
}

// product reads the product from its stream, not from any cache.
func (w world) product(t *testing.T, id string) *inventory.Product {
	t.Helper()
	p, err := w.svc.Handlers().Products.Load(context.Background(), id)
	require.NoError(t, err)
	return p
}

// reserveAll sends one reservation of a unit per order on productID (all
// in its partition, in order) and returns their message ids.
func (w world) reserveAll(t *testing.T, productID string, orders int) []string {
	t.Helper()
	var ids []string
	for i := range orders {
		id, err := w.bus.Send(context.Background(), messages.ReserveStock{ProductID: productID, OrderID: order(i), Quantity: 1}, bus.Envelope{})
		require.NoError(t, err)
		ids = append(ids, id)
	}
	return ids
}

func order(i int) string { return fmt.Sprintf("order-%02d", i) }

// A command that fails is split off its batch: the commands before it in
// the partition commit while it is retried alone, the ones after it wait
// behind it (same aggregate, same partition), and once it succeeds
// everything follows, each command applied once.
func TestFailingCommandIsIsolatedAndTheOthersCommit(t *testing.T) {
	t.Parallel()
	w := setup(t)
	productID := w.createProduct(t, 100)
	ids := w.reserveAll(t, productID, 20)
	poison := ids[10]

	var mu sync.Mutex
	poisoned, attempts, maxBatch := true, 0, 0
	cure := func() { mu.Lock(); defer mu.Unlock(); poisoned = false }
	state := func() (int, int) { mu.Lock(); defer mu.Unlock(); return attempts, maxBatch }
	p := w.processor(t, func(bh handlers.BusHandler) handlers.BusHandler {
		inner := bh.Handle
		bh.Handle = func(ctx context.Context, batch []handlers.Received) error {
			mu.Lock()
			maxBatch = max(maxBatch, len(batch))
			fail := false
			for _, r := range batch {
				if r.ID == poison {
					attempts++
					fail = poisoned
				}
			}
			mu.Unlock()
			if fail {
				return errors.New("poisoned")
			}
			return inner(ctx, batch)
		}
		return bh
	})
	// Sent before anyone consumes: the first batch holds them all.
	run(t, p)

	require.Eventually(t, func() bool {
		attempts, _ := state()
		return attempts >= 4 && w.product(t, productID).Version() == 11
	}, time.Minute, 20*time.Millisecond, "the ten before the failing command commit while it is retried")
	_, batch := state()
	require.Greater(t, batch, 1, "ready commands come in batches")
	prod := w.product(t, productID)
	for i := range 20 {
		require.Equal(t, map[bool]int{true: 1, false: 0}[i < 10], prod.ReservedFor(order(i)), order(i))
	}

	cure()
	require.Eventually(t, func() bool { return w.product(t, productID).Version() == 21 }, time.Minute, 20*time.Millisecond)
	prod = w.product(t, productID)
	for i := range 20 {
		require.Equal(t, 1, prod.ReservedFor(order(i)), order(i))
	}
	require.Equal(t, 80, prod.Available())
}

// A consumer that dies after its batch committed in the database but
// before the offsets were marked leaves the batch to be delivered again;
// the new consumer of the group handles it again and nothing changes.
func TestCrashBetweenDatabaseCommitAndOffsetRedeliversAndChangesNothing(t *testing.T) {
	t.Parallel()
	w := setup(t)
	productID := w.createProduct(t, 100)
	ids := w.reserveAll(t, productID, 10)

	var mu sync.Mutex
	var committed, redelivered []string
	ctx, crash := context.WithCancel(context.Background())
	first := w.processor(t, func(bh handlers.BusHandler) handlers.BusHandler {
		inner := bh.Handle
		bh.Handle = func(ctx context.Context, batch []handlers.Received) error {
			if err := inner(ctx, batch); err != nil {
				return err
			}
			mu.Lock()
			for _, r := range batch {
				committed = append(committed, r.ID)
			}
			mu.Unlock()
			// The process dies here: committed, not marked.
			crash()
			return errors.New("crashed after the commit")
		}
		return bh
	})
	t.Cleanup(crash)
	done := make(chan struct{})
	go func() {
		defer close(done)
		require.NoError(t, first.Run(ctx))
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the first consumer did not crash")
	}

	mu.Lock()
	crashed := slices.Clone(committed)
	mu.Unlock()
	require.NotEmpty(t, crashed)
	require.Equal(t, ids[:len(crashed)], crashed, "the first batch, in order")
	version := w.product(t, productID).Version()
	require.Equal(t, 1+len(crashed), version, "the batch was committed")

	second := w.processor(t, func(bh handlers.BusHandler) handlers.BusHandler {
		inner := bh.Handle
		bh.Handle = func(ctx context.Context, batch []handlers.Received) error {
			mu.Lock()
			for _, r := range batch {
				redelivered = append(redelivered, r.ID)
			}
			mu.Unlock()
			return inner(ctx, batch)
		}
		return bh
	})
	run(t, second)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(redelivered) >= len(ids)
	}, time.Minute, 20*time.Millisecond)
	mu.Lock()
	require.Equal(t, ids, redelivered, "the new consumer starts at the crashed batch, and handles every command once")
	mu.Unlock()
	require.Equal(t, 11, w.product(t, productID).Version(), "the redelivered batch changed nothing")
	prod := w.product(t, productID)
	for i := range 10 {
		require.Equal(t, 1, prod.ReservedFor(order(i)), "reserved once: %s", order(i))
	}
	require.Equal(t, 90, prod.Available())
}

// A command no handler executes (an unknown name, a command of the
// context that does not travel over the bus) or whose payload does not
// decode is logged with where it is, counted and dead-lettered as
// permanent; later commands of its product wait behind it, in order, the
// other products keep flowing, and discarding it lets them through.
func TestRejectedCommandsAreDeadLetteredAndTheirAggregateWaits(t *testing.T) {
	t.Parallel()
	w := setup(t, service.WithDeadLetterPolling(50*time.Millisecond))
	ctx := context.Background()
	productID := w.createProduct(t, 5)
	other := w.createProduct(t, 5)

	pub, err := kafka.NewPublisher(w.env.Config.KafkaBrokers, "bus-test", watermill.NopLogger{})
	require.NoError(t, err)
	defer pub.Close()
	raw := func(name, payload string) string {
		m := message.NewMessage(watermill.NewUUID(), []byte(payload))
		m.Metadata.Set("name", name)
		m.Metadata.Set(kafka.PartitionKeyHeader, productID)
		require.NoError(t, pub.Publish(w.env.Config.Topic(bus.CommandTopic("inventory")), m))
		return m.UUID
	}
	unknown := raw("inventory.TeleportStock", `{}`)
	undecodable := raw("inventory.ReserveStock", `{"productId":`)
	notOnTheBus := raw("inventory.CreateProduct", fmt.Sprintf(`{"productId":%q,"sku":"X","name":"X","price":1,"initialStock":1}`, productID))
	_, err = w.bus.Send(ctx, messages.ReserveStock{ProductID: productID, OrderID: "after", Quantity: 2}, bus.Envelope{})
	require.NoError(t, err)
	_, err = w.bus.Send(ctx, messages.ReserveStock{ProductID: other, OrderID: "elsewhere", Quantity: 1}, bus.Envelope{})
	require.NoError(t, err)

	p, err := w.svc.CommandProcessor()
	require.NoError(t, err)
	run(t, p)
	require.Eventually(t, func() bool { return w.product(t, other).ReservedFor("elsewhere") == 1 }, time.Minute, 20*time.Millisecond)

	// The first is dead at once and everything after it of its product
	// waits; the operator discards each dead head in turn, the next one
	// is tried (dead again), and the reservation behind them runs last.
	store := w.svc.DeadLetterStore()
	for i, id := range []string{unknown, undecodable, notOnTheBus} {
		var head deadletter.Entry
		require.Eventually(t, func() bool {
			page, err := store.List(ctx, deadletter.Filter{AggregateID: productID}, 10, 0)
			require.NoError(t, err)
			if page.Total != 4 || len(page.Entries) != 4 {
				return false
			}
			head = page.Entries[3-i]
			return head.Status == deadletter.StatusDead
		}, time.Minute, 20*time.Millisecond)
		require.Equal(t, id, head.MessageID)
		require.Equal(t, deadletter.Permanent, head.Class)
		require.Equal(t, handlers.InventoryCommandsHandler, head.Handler)
		require.Equal(t, 1, w.product(t, productID).Version(), "created; nothing else yet")
		require.NoError(t, store.Discard(ctx, head.ID, "not a command of ours", "ops"))
	}
	require.Eventually(t, func() bool { return w.product(t, productID).ReservedFor("after") == 2 }, time.Minute, 20*time.Millisecond)

	require.Equal(t, 2.0, rejected(t, w.svc.Metrics, handlers.InventoryCommandsHandler, "unknown_command"))
	require.Equal(t, 1.0, rejected(t, w.svc.Metrics, handlers.InventoryCommandsHandler, "undecodable"))
	logs := w.logs.String()
	topic := w.env.Config.Topic(bus.CommandTopic("inventory"))
	for _, id := range []string{unknown, undecodable, notOnTheBus} {
		require.Regexp(t, `"msg":"command rejected",("component":"commands",)?"handler":"inventory.commands","topic":"`+topic+`","partition":\d+,"offset":\d+,"message_id":"`+id+`","type":"inventory\.\w+"`, logs)
		require.Regexp(t, `"msg":"message dead-lettered",.*"handler":"inventory.commands",.*"message_id":"`+id+`",.*"error_class":"permanent"`, logs)
	}
	require.Equal(t, 2, w.product(t, productID).Version(), "created, then the one good command; nothing else")
}

// The bus has no topic for the ordering context: sending an order command
// over it is an error, not a message nobody reads.
func TestOrderCommandsDoNotTravelOverTheBus(t *testing.T) {
	t.Parallel()
	w := setup(t)
	_, err := w.bus.Send(context.Background(), messages.ConfirmOrder{OrderID: uuid.NewString()}, bus.Envelope{})
	require.ErrorContains(t, err, "has no command topic")
	require.Equal(t, []string{"orderflow.inventory.commands", "orderflow.payments.commands"}, bus.CommandTopics())
}

func rejected(t *testing.T, reg *prometheus.Registry, handler, reason string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != "orderflow_commands_rejected_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["handler"] == handler && labels["reason"] == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// teeHandler logs to two handlers.
type teeHandler struct{ a, b slog.Handler }

func (h teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.a.Enabled(ctx, l) || h.b.Enabled(ctx, l)
}

func (h teeHandler) Handle(ctx context.Context, r slog.Record) error {
	return errors.Join(h.a.Handle(ctx, r.Clone()), h.b.Handle(ctx, r.Clone()))
}

func (h teeHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return teeHandler{h.a.WithAttrs(attrs), h.b.WithAttrs(attrs)}
}

func (h teeHandler) WithGroup(name string) slog.Handler {
	return teeHandler{h.a.WithGroup(name), h.b.WithGroup(name)}
}
