package selfhealing_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/command/domain/payments"
	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/internal/consumer"
	"github.com/orderflow/orderflow/internal/deadletter"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/internal/systemtest"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/reconcile"
	"github.com/orderflow/orderflow/sagas"
)

// fastPark makes a saga give a step up after about 2 s (0.3 + 0.6 + 1.2).
var fastPark = service.WithSagaConfig(func(c *sagas.Config) {
	c.Policy.StepTimeout = 300 * time.Millisecond
	c.Policy.MaxAttempts = 3
})

func (w *world) saga(orderID string) *sagas.State {
	w.t.Helper()
	st, err := w.Service.Sagas.Get(context.Background(), orderID)
	require.NoError(w.t, err)
	require.NotNil(w.t, st)
	return st
}

// stock returns a product's available and reserved units from its stream.
func (w *world) stock(productID string) (available, reserved int) {
	w.t.Helper()
	p, err := w.Service.Handlers().Products.Load(context.Background(), productID)
	require.NoError(w.t, err)
	return p.Available(), p.Reserved()
}

// reconcileReport runs a dry reconciliation with no grace.
func (w *world) reconcileReport() reconcile.Report {
	w.t.Helper()
	cfg := reconcile.DefaultConfig()
	cfg.Grace, cfg.Interval, cfg.DryRun = 0, 0, true
	r, err := w.Service.Reconciler(cfg)
	require.NoError(w.t, err)
	rep, err := r.Run(context.Background())
	require.NoError(w.t, err)
	return rep
}

// placeRefused places an order of one unit of productID by a customer who
// cannot pay for it: the saga reserves the stock, the payment is refused,
// and the saga compensates by releasing the stock.
func (w *world) placeRefused(productID string) (orderID, customerID string) {
	w.t.Helper()
	c := w.customer(money.Amount(50)) // the product costs 100
	return w.place(c.ID, productID), c.ID
}

// gated is a payment provider that holds one customer's authorizations
// until opened.
type gated struct {
	customer atomic.Value
	open     chan struct{}
}

func (g *gated) Authorize(ctx context.Context, req payments.Authorization) (payments.Answer, error) {
	if req.CustomerID == g.customer.Load() {
		select {
		case <-g.open:
		case <-ctx.Done():
			return payments.Answer{}, ctx.Err()
		}
	}
	return payments.BalanceProvider{}.Authorize(ctx, req)
}

// An order whose compensation cannot land until a fault is removed: the
// payment provider is slow, so the saga gives the authorization up
// (SAGA_TIMEOUT) and compensates, and every ReleaseStock of the product and
// VoidPayment of the customer is lost (acknowledged, never handled) while
// the fault lasts. The authorization lands late, so the order ends holding
// both stock and money; the saga's deadlines give up, it parks and fails
// the order (COMPENSATION_FAILED), and the reconciliation sees all of it.
// Once the fault is gone, orderflow redrive (the support operation)
// resumes the compensation under new message ids: the hold is voided, then
// the stock released, both compensations are recorded on the order, the
// saga ends DONE, stock and money are whole and the reconciliation finds
// nothing. A second re-drive is refused and changes nothing.
func TestRedriveFinishesAParkedSaga(t *testing.T) {
	t.Parallel()
	provider := &gated{open: make(chan struct{})}
	provider.customer.Store("")
	var product, customerID atomic.Value
	product.Store("")
	customerID.Store("")
	var lose atomic.Bool
	var lost atomic.Int64
	drop := func(next consumer.Handler) consumer.Handler {
		return func(ctx context.Context, batch []consumer.Message) error {
			kept := batch[:0:0]
			for _, m := range batch {
				name := m.Metadata.Get("name")
				if lose.Load() && (name == "inventory.ReleaseStock" && contains(m.Payload, product.Load().(string)) ||
					name == "payments.VoidPayment" && contains(m.Payload, customerID.Load().(string))) {
					lost.Add(1)
					continue
				}
				kept = append(kept, m)
			}
			return next(ctx, kept)
		}
	}
	w := &world{System: systemtest.Start(t, systemtest.Options{Service: []service.Option{
		service.WithBatchMiddleware(drop), fastPark,
		service.WithPaymentTimeout(time.Minute), service.WithPaymentProvider(provider),
	}}), t: t}
	ctx := context.Background()
	p, c := w.product(10), w.customer(money.Amount(1000))
	product.Store(p.ID)
	customerID.Store(c.ID)
	provider.customer.Store(c.ID)
	lose.Store(true)
	orderID := w.place(c.ID, p.ID)

	require.Eventually(t, func() bool { return w.saga(orderID).Failure != nil }, time.Minute, 20*time.Millisecond,
		"the saga gives the slow authorization up")
	require.Equal(t, errcode.SagaTimeout, w.saga(orderID).Failure.Code)
	close(provider.open) // the authorization lands after all: money held
	require.Eventually(t, func() bool { return w.saga(orderID).Phase == sagas.PhaseParked }, time.Minute, 50*time.Millisecond)
	require.Positive(t, lost.Load())
	order, err := w.Service.Handlers().Orders.Load(ctx, orderID)
	require.NoError(t, err)
	require.Equal(t, messages.StatusFailed, order.Status())
	require.Equal(t, errcode.CompensationFailed, order.Failure().Code)
	available, reserved := w.stock(p.ID)
	require.Equal(t, []int{9, 1}, []int{available, reserved}, "the stock is still held for the failed order")
	require.Eventually(t, func() bool {
		a, err := w.Service.Handlers().Customers.Load(ctx, c.ID)
		require.NoError(t, err)
		return a.HeldFor(orderID) == money.Amount(100)
	}, time.Minute, 50*time.Millisecond, "the money is held for the failed order")
	require.Eventually(t, func() bool {
		rep := w.reconcileReport()
		return rep.Counts[reconcile.SagaParked] == 1 && rep.Counts[reconcile.StockNotReleased] == 1 && rep.Counts[reconcile.HoldNotVoided] == 1
	}, time.Minute, 200*time.Millisecond, "the reconciliation sees the parked saga and what it holds")

	lose.Store(false) // the fault is removed
	res, err := w.App.Commands.RedriveOrderSaga.Handle(ctx, admin, orderID)
	require.NoError(t, err)
	require.Equal(t, sagas.PhaseParked, res.Phase)
	require.Equal(t, sagas.PhaseCompensating, res.Now)
	require.Len(t, res.Sent, 1, "the payment first")
	require.Equal(t, "payments.VoidPayment", res.Sent[0].Message.CommandName())
	require.NotEqual(t, sagas.CommandID(orderID, "void:authorized"), res.Sent[0].ID, "a new message id")

	require.Eventually(t, func() bool { return w.saga(orderID).Phase == sagas.PhaseDone }, time.Minute, 50*time.Millisecond)
	st := w.saga(orderID)
	require.Equal(t, sagas.OutcomeFailed, st.Outcome)
	require.Equal(t, sagas.PartUndone, st.Payment)
	require.Equal(t, sagas.PartUndone, st.Lines[0].State)
	available, reserved = w.stock(p.ID)
	require.Equal(t, []int{10, 0}, []int{available, reserved}, "the stock is whole again")
	account, err := w.Service.Handlers().Customers.Load(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, money.Amount(1000), account.Balance(), "no money moved")
	require.Zero(t, account.Held())
	order, err = w.Service.Handlers().Orders.Load(ctx, orderID)
	require.NoError(t, err)
	require.Equal(t, messages.StatusFailed, order.Status(), "the order stays as it ended")
	var actions []string
	for _, comp := range order.Compensations() {
		actions = append(actions, comp.Action)
	}
	require.Equal(t, []string{"VoidPayment", "ReleaseInventory"}, actions)

	// Idempotent: a second re-drive is refused and changes nothing.
	versionBefore := order.Version()
	_, err = w.App.Commands.RedriveOrderSaga.Handle(ctx, admin, orderID)
	var coded *errcode.Error
	require.True(t, errors.As(err, &coded), "%v", err)
	require.Equal(t, errcode.Conflict, coded.Code)
	order, err = w.Service.Handlers().Orders.Load(ctx, orderID)
	require.NoError(t, err)
	require.Equal(t, versionBefore, order.Version())

	require.Eventually(t, func() bool { return w.reconcileReport().Total() == 0 }, time.Minute, 200*time.Millisecond,
		"the reconciliation finds nothing left")
}

// The same, when the compensation fails in its handler instead of being
// lost: the release is retried through the levels and dead-lettered, and
// the saga parks. After the fix, the operator re-drives the saga: its new
// release is held behind the product's dead letter, in order, until the
// operator replays the product's dead letters; then both are handled
// (the second changes nothing) and the parked saga, which takes the
// answer in, ends DONE with the stock whole.
func TestRedriveOfAParkedSagaWaitsBehindItsDeadLetters(t *testing.T) {
	t.Parallel()
	var broken atomic.Value
	broken.Store("")
	fault := func(next consumer.Handler) consumer.Handler {
		return func(ctx context.Context, batch []consumer.Message) error {
			for _, m := range batch {
				if id := broken.Load().(string); id != "" && m.Metadata.Get("name") == "inventory.ReleaseStock" && contains(m.Payload, id) {
					return errors.New("handler bug: nil map")
				}
			}
			return next(ctx, batch)
		}
	}
	w := &world{System: systemtest.Start(t, systemtest.Options{NoProjector: true,
		RetryLevels: []time.Duration{100 * time.Millisecond, 100 * time.Millisecond},
		Service:     []service.Option{service.WithBatchMiddleware(fault), fastPark},
	}), t: t}
	ctx := context.Background()
	p := w.product(10)
	broken.Store(p.ID)
	orderID, _ := w.placeRefused(p.ID)

	require.Eventually(t, func() bool { return w.saga(orderID).Phase == sagas.PhaseParked }, time.Minute, 50*time.Millisecond)
	require.Eventually(t, func() bool {
		return w.deadLetters(deadletter.Filter{AggregateID: p.ID, Status: deadletter.StatusDead}).Total == 1
	}, time.Minute, 50*time.Millisecond, "the release is dead after the levels")

	broken.Store("")
	res, err := w.App.Commands.RedriveOrderSaga.Handle(ctx, admin, orderID)
	require.NoError(t, err)
	require.Len(t, res.Sent, 1)
	require.Eventually(t, func() bool {
		page := w.deadLetters(deadletter.Filter{AggregateID: p.ID, Class: deadletter.Waiting})
		for _, e := range page.Entries {
			if e.MessageID == res.Sent[0].ID {
				return true
			}
		}
		return false
	}, time.Minute, 50*time.Millisecond, "the re-driven release waits behind the dead one")
	_, reserved := w.stock(p.ID)
	require.Equal(t, 1, reserved)
	require.NotEqual(t, sagas.PhaseDone, w.saga(orderID).Phase)

	_, err = w.Service.DeadLetterStore().Replay(ctx, nil, p.ID, "ops")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return w.saga(orderID).Phase == sagas.PhaseDone }, time.Minute, 50*time.Millisecond)
	require.Equal(t, sagas.OutcomeFailed, w.saga(orderID).Outcome)
	available, reserved := w.stock(p.ID)
	require.Equal(t, []int{10, 0}, []int{available, reserved})
	require.Eventually(t, func() bool {
		return w.deadLetters(deadletter.Filter{AggregateID: p.ID, Status: deadletter.StatusParked}).Total == 0 &&
			w.deadLetters(deadletter.Filter{AggregateID: p.ID, Status: deadletter.StatusDead}).Total == 0
	}, time.Minute, 50*time.Millisecond)
	require.Equal(t, 2, w.deadLetters(deadletter.Filter{AggregateID: p.ID, Handler: handlers.InventoryCommandsHandler, Status: deadletter.StatusReplayed}).Total,
		"the dead release and the re-driven one behind it, both handled")
}
