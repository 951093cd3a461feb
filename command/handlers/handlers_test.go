package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/command/bus"
	"github.com/orderflow/orderflow/command/domain/inventory"
	"github.com/orderflow/orderflow/command/domain/ordering"
	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/internal/config"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/testenv"
	"github.com/orderflow/orderflow/messages"
)

type fixture struct {
	svc *service.Service
	bus *bus.Bus
}

// setup starts the command bus's consumers (inventory and payments,
// consuming real Kafka) on the test's own database and topics.
func setup(t *testing.T) fixture {
	t.Helper()
	env := testenv.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := service.Open(ctx, env.Config, env.Logger)
	require.NoError(t, err)
	commands, err := svc.CommandProcessor()
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := commands.Run(ctx); err != nil {
			t.Errorf("command consumers: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		svc.Close()
	})
	select {
	case <-commands.Running():
	case <-time.After(time.Minute):
		t.Fatal("command consumers did not start")
	}
	b, err := svc.OpenBus()
	require.NoError(t, err)
	return fixture{svc: svc, bus: b}
}

func (f fixture) send(t *testing.T, cmd messages.Command, env bus.Envelope) {
	t.Helper()
	_, err := f.bus.Send(context.Background(), cmd, env)
	require.NoError(t, err)
}

// createProduct creates a product the way the API does, in process.
func (f fixture) createProduct(t *testing.T, id string, stock int) {
	t.Helper()
	_, err := f.svc.Handlers().CreateProduct(context.Background(), handlers.Message{ID: uuid.NewString()},
		messages.CreateProduct{ProductID: id, SKU: "SKU-" + id, Name: "Mug", Price: 1250, InitialStock: stock}, handlers.With[*inventory.Product]{})
	require.NoError(t, err)
}

func (f fixture) product(t *testing.T, id string) *inventory.Product {
	t.Helper()
	p, err := f.svc.Handlers().Products.Load(context.Background(), id)
	require.NoError(t, err)
	return p
}

func TestCommandDeliveredTwiceAppendsOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	productID := uuid.NewString()
	f.createProduct(t, productID, 5)

	// The same message twice (a redelivery), then a later, different
	// message that proves both were consumed.
	reserve := messages.ReserveStock{ProductID: productID, OrderID: "order-1", Quantity: 2}
	msgID := uuid.NewString()
	f.send(t, reserve, bus.Envelope{MessageID: msgID})
	f.send(t, reserve, bus.Envelope{MessageID: msgID})
	f.send(t, messages.ReserveStock{ProductID: productID, OrderID: "order-2", Quantity: 1}, bus.Envelope{})
	require.Eventually(t, func() bool { return f.product(t, productID).Version() == 3 }, 30*time.Second, 20*time.Millisecond)

	p := f.product(t, productID)
	require.Equal(t, 2, p.Available(), "reserved once by the duplicated message, once by the last")
	require.Equal(t, 2, p.ReservedFor("order-1"))
	require.Equal(t, 1, p.ReservedFor("order-2"))
}

func TestLastUnitGoesToExactlyOneOrderThroughTheBus(t *testing.T) {
	t.Parallel()
	f := setup(t)
	productID := uuid.NewString()
	f.createProduct(t, productID, 1)

	const orders = 20
	var wg sync.WaitGroup
	for i := range orders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.send(t, messages.ReserveStock{ProductID: productID, OrderID: fmt.Sprintf("order-%d", i), Quantity: 1}, bus.Envelope{})
		}()
	}
	wg.Wait()
	require.Eventually(t, func() bool { return f.product(t, productID).Version() == 1+orders }, 60*time.Second, 50*time.Millisecond)

	p := f.product(t, productID)
	require.Equal(t, 0, p.Available())
	require.Equal(t, 1, p.Reserved())
	winners := 0
	for i := range orders {
		winners += p.ReservedFor(fmt.Sprintf("order-%d", i))
	}
	require.Equal(t, 1, winners)
}

// Two executors stand for two worker processes with separate caches: they
// decide on the same stream at the same time, and the expected-version
// check lets exactly one reservation of the last unit through.
func TestConcurrentExecutorsReserveLastUnitOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	stores := f.svc.Stores()
	productID := uuid.NewString()
	first := handlers.New(stores, time.Now, f.svc.Logger)
	_, err := first.Products.Execute(ctx, handlers.Message{Handler: "test", ID: uuid.NewString()}, productID,
		func(p *inventory.Product) ([]messages.Event, error) {
			return p.Create(messages.CreateProduct{ProductID: productID, SKU: "S", Name: "N", Price: 1, InitialStock: 1})
		})
	require.NoError(t, err)

	workers := []*handlers.Handlers{first, handlers.New(stores, time.Now, f.svc.Logger), handlers.New(stores, time.Now, f.svc.Logger)}
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := workers[i%len(workers)]
			order := fmt.Sprintf("order-%d", i)
			_, err := h.Products.Execute(ctx, handlers.Message{Handler: handlers.ReserveStockHandler, ID: uuid.NewString()}, productID,
				func(p *inventory.Product) ([]messages.Event, error) { return p.Reserve(order, 1) })
			require.NoError(t, err)
		}()
	}
	wg.Wait()

	p := f.product(t, productID)
	require.Equal(t, 31, p.Version(), "one creation and one decision per order")
	require.Equal(t, 1, p.Reserved())
	require.Equal(t, 0, p.Available())
}

// A refusal is recorded with the message, so a redelivery returns the same
// refusal without deciding again.
func TestRefusalIsRecordedInInbox(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	h := f.svc.Handlers()
	msg := handlers.Message{Handler: handlers.RestockProductHandler, ID: uuid.NewString()}
	restockMissing := func(p *inventory.Product) ([]messages.Event, error) { return p.Restock(1) }

	_, err := h.Products.Execute(ctx, msg, "no-such-product", restockMissing)
	require.True(t, errcode.Is(err, errcode.NotFound), err)
	res, err := h.Products.Execute(ctx, msg, "no-such-product", restockMissing)
	require.True(t, errcode.Is(err, errcode.NotFound), err)
	require.True(t, res.Duplicate)
}

// A command whose event could never be published (larger than a Kafka
// message) is refused before anything is appended, and the refusal is
// recorded like the domain's: a redelivery gets it again, and a caller in
// a transaction of its own (the saga) gets it as the command's refusal.
func TestEventTooLargeForKafkaIsRefusedBeforeAppending(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	h := f.svc.Handlers()
	productID := uuid.NewString()
	oversized := func(*inventory.Product) ([]messages.Event, error) {
		// Past the domain's bounds on purpose: this is the defence
		// behind them.
		return []messages.Event{messages.ProductCreated{ProductID: productID, SKU: "S", Name: strings.Repeat("n", messages.MaxEventBytes), Price: 1}}, nil
	}

	msg := handlers.Message{Handler: handlers.CreateProductHandler, ID: uuid.NewString()}
	_, err := h.Products.Execute(ctx, msg, productID, oversized)
	require.True(t, errcode.Is(err, errcode.InvalidOrderData), err)
	require.Zero(t, f.product(t, productID).Version(), "nothing was appended")
	res, err := h.Products.Execute(ctx, msg, productID, oversized)
	require.True(t, res.Duplicate)
	require.True(t, errcode.Is(err, errcode.InvalidOrderData), err)

	tx, err := h.Products.Store().Pool().Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	res, err = h.Products.ExecuteInTx(ctx, tx, handlers.Message{Handler: handlers.CreateProductHandler, ID: uuid.NewString()}, productID, oversized)
	require.NoError(t, err)
	require.True(t, errcode.Is(res.Refusal, errcode.InvalidOrderData), res.Refusal)
	require.Empty(t, res.Events)
	require.NoError(t, tx.Commit(ctx))
	require.Zero(t, f.product(t, productID).Version(), "nothing was appended")

	// The stream is untouched: a normal command on it still works.
	_, err = h.Products.Execute(ctx, handlers.Message{Handler: handlers.CreateProductHandler, ID: uuid.NewString()}, productID,
		func(p *inventory.Product) ([]messages.Event, error) {
			return p.Create(messages.CreateProduct{ProductID: productID, SKU: "S", Name: "N", Price: 1, InitialStock: 1})
		})
	require.NoError(t, err)
	require.Equal(t, 1, f.product(t, productID).Version())
}

// A caller in this process is answered from what the handler did: the
// view sees the aggregate the command left, a repeated message id changes
// nothing and sees the stream as it stands, and a refusal is returned
// without being recorded.
func TestCallerIsAnsweredFromTheHandler(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	h := f.svc.Handlers()
	productID := uuid.NewString()
	var onHand, version int
	view := handlers.With[*inventory.Product]{View: func(p *inventory.Product) { onHand, version = p.OnHand(), p.Version() }}

	res, err := h.CreateProduct(ctx, handlers.Message{ID: uuid.NewString()}, messages.CreateProduct{ProductID: productID, SKU: "S", Name: "N", Price: 100, InitialStock: 5}, view)
	require.NoError(t, err)
	require.Equal(t, 1, res.Version)
	require.Equal(t, 5, onHand)

	restock := handlers.Message{ID: uuid.NewString()}
	res, err = h.RestockProduct(ctx, restock, messages.RestockProduct{ProductID: productID, Quantity: 3}, view)
	require.NoError(t, err)
	require.False(t, res.Duplicate)
	require.Equal(t, 8, onHand)
	require.Equal(t, 2, version)

	// Another process (its own cache) repeats the message.
	other := handlers.New(f.svc.Stores(), time.Now, f.svc.Logger)
	onHand, version = 0, 0
	res, err = other.RestockProduct(ctx, restock, messages.RestockProduct{ProductID: productID, Quantity: 3}, view)
	require.NoError(t, err)
	require.True(t, res.Duplicate)
	require.Equal(t, 8, onHand, "the stream as it stands, restocked once")
	require.Equal(t, 2, version)
	require.Equal(t, 2, res.Version)

	refused := handlers.Message{ID: uuid.NewString()}
	_, err = h.RestockProduct(ctx, refused, messages.RestockProduct{ProductID: "no-such-product", Quantity: 1}, view)
	require.True(t, errcode.Is(err, errcode.NotFound), err)
	var recorded bool
	require.NoError(t, f.svc.Pools[config.Inventory].QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM inventory.inbox WHERE message_id = $1)`, refused.ID).Scan(&recorded))
	require.False(t, recorded, "a refusal the caller was told of is not recorded")
	require.Equal(t, 8, f.product(t, productID).OnHand())
}

// A batch runs in one transaction, in order: a command sees the events of
// the commands before it on its stream, a refusal is recorded, a message
// repeated in the batch changes nothing; a failure anywhere writes none
// of it. The executor's cache follows, so a caller in this process acts
// on the batch's outcome without a conflict.
func TestBatchAppliesCommandsInOrderInOneTransaction(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	h := f.svc.Handlers()
	productID, otherID := uuid.NewString(), uuid.NewString()
	f.createProduct(t, productID, 3)
	f.createProduct(t, otherID, 1)
	reserve := func(id, order string, qty int) handlers.Call[*inventory.Product] {
		return handlers.Call[*inventory.Product]{
			Msg:      handlers.Message{Handler: handlers.ReserveStockHandler, ID: uuid.NewString()},
			StreamID: id,
			Decide:   func(p *inventory.Product) ([]messages.Event, error) { return p.Reserve(order, qty) },
		}
	}

	commit := func(id, order string) handlers.Call[*inventory.Product] {
		return handlers.Call[*inventory.Product]{
			Msg:      handlers.Message{Handler: handlers.CommitStockHandler, ID: uuid.NewString()},
			StreamID: id,
			Decide:   func(p *inventory.Product) ([]messages.Event, error) { return p.Commit(order) },
		}
	}

	first, refused := reserve(productID, "o1", 2), commit(productID, "nobody")
	calls := []handlers.Call[*inventory.Product]{first, reserve(otherID, "o1", 1), reserve(productID, "o2", 2), refused, reserve(productID, "o3", 1), first}
	results, err := h.Products.ExecuteBatch(ctx, calls)
	require.NoError(t, err)
	require.Len(t, results, 6)
	require.Equal(t, 2, results[0].Version)
	require.Equal(t, 2, results[1].Version)
	require.Equal(t, []messages.Event{messages.StockReservationRejected{ProductID: productID, OrderID: "o2", Requested: 2, Available: 1, Reason: messages.ReasonInsufficientStock}},
		results[2].Events, "decided on the stream o1 left")
	require.True(t, errcode.Is(results[3].Refusal, errcode.Conflict), "nothing reserved for the order: %v", results[3].Refusal)
	require.Equal(t, 4, results[4].Version)
	require.True(t, results[5].Duplicate, "the repeated message changes nothing")
	p := f.product(t, productID)
	require.Equal(t, 4, p.Version())
	require.Equal(t, 0, p.Available())
	require.Equal(t, 1, f.product(t, otherID).Reserved())

	// The refusal was recorded: delivered again, it is a duplicate with
	// the same refusal.
	again, err := h.Products.ExecuteBatch(ctx, []handlers.Call[*inventory.Product]{refused})
	require.NoError(t, err)
	require.True(t, again[0].Duplicate)
	require.True(t, errcode.Is(again[0].Refusal, errcode.Conflict), again[0].Refusal)

	// A failure rolls the whole batch back.
	broken := handlers.Call[*inventory.Product]{
		Msg:      handlers.Message{Handler: handlers.ReleaseStockHandler, ID: uuid.NewString()},
		StreamID: otherID,
		Decide:   func(*inventory.Product) ([]messages.Event, error) { return nil, fmt.Errorf("database went away") },
	}
	release := handlers.Call[*inventory.Product]{
		Msg:      handlers.Message{Handler: handlers.ReleaseStockHandler, ID: uuid.NewString()},
		StreamID: productID,
		Decide:   func(p *inventory.Product) ([]messages.Event, error) { return p.Release("o1") },
	}
	_, err = h.Products.ExecuteBatch(ctx, []handlers.Call[*inventory.Product]{release, broken})
	require.ErrorContains(t, err, "database went away")
	require.Equal(t, 4, f.product(t, productID).Version(), "the release before the failure was rolled back")

	// This process's next command starts from the batch's outcome (the
	// cache holds it): no conflict, the state the batch left.
	var available, version int
	_, err = h.RestockProduct(ctx, handlers.Message{ID: uuid.NewString()}, messages.RestockProduct{ProductID: productID, Quantity: 4},
		handlers.With[*inventory.Product]{View: func(p *inventory.Product) { available, version = p.Available(), p.Version() }})
	require.NoError(t, err)
	require.Equal(t, 4, available)
	require.Equal(t, 5, version)
}

// A placement is the message whose id is the order id and starts the
// order's saga in its transaction, or it is refused before anything is
// written: the saga's consumer relies on both to skip the OrderPlaced of
// a placement from its envelope (sagas.Processor.HandleBatch).
func TestPlacementWithoutItsIDOrItsSagaHookIsRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	orderID := uuid.NewString()
	cmd := messages.PlaceOrder{
		OrderID: orderID, CustomerID: uuid.NewString(), IdempotencyKey: "k",
		Items:           []messages.OrderLine{{ProductID: uuid.NewString(), ProductName: "p", SKU: "P", Quantity: 1, UnitPrice: 100}},
		ShippingAddress: messages.Address{Street: "1 Main St", City: "Springfield", Zip: "12345", Country: "US"},
		PaymentMethod:   messages.PaymentMethod{Type: "card", Token: "tok_4242"},
	}
	hook := handlers.With[*ordering.Order]{InTx: func(context.Context, pgx.Tx, handlers.Result) (func(), error) { return nil, nil }}
	for name, tc := range map[string]struct {
		msg  handlers.Message
		with handlers.With[*ordering.Order]
	}{
		"another message id": {handlers.Message{ID: uuid.NewString()}, hook},
		"no saga hook":       {handlers.Message{ID: orderID}, handlers.With[*ordering.Order]{}},
	} {
		_, err := f.svc.Handlers().PlaceOrder(ctx, tc.msg, cmd, tc.with)
		require.Error(t, err, name)
	}
	var events int
	require.NoError(t, f.svc.Pools[config.Ordering].QueryRow(ctx, `SELECT count(*) FROM ordering.events WHERE stream_id = $1`, orderID).Scan(&events))
	require.Zero(t, events, "nothing recorded")

	_, err := f.svc.Handlers().PlaceOrder(ctx, handlers.Message{ID: orderID}, cmd, hook)
	require.NoError(t, err, "the placement as the application sends it")
}
