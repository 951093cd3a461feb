package handlers_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/command/domain/payments"
	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/internal/testenv"
	"github.com/orderflow/orderflow/messages"
)

// probeProvider approves every authorization. On every call it counts the
// key and the sessions of the payments database idle in a transaction (a
// transaction held open across the call); a call for a key in hold signals
// asked and waits for release.
type probeProvider struct {
	pool    *pgxpool.Pool
	hold    string
	asked   chan struct{}
	release chan struct{}

	mu    sync.Mutex
	calls map[string]int
	inTx  int
}

func (p *probeProvider) Authorize(ctx context.Context, req payments.Authorization) (payments.Answer, error) {
	var open int
	err := p.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND state IN ('idle in transaction', 'idle in transaction (aborted)')`).Scan(&open)
	if err != nil {
		return payments.Answer{}, err
	}
	p.mu.Lock()
	p.calls[req.Key]++
	p.inTx += open
	p.mu.Unlock()
	if req.Key == p.hold {
		p.asked <- struct{}{}
		select {
		case <-p.release:
		case <-ctx.Done():
			return payments.Answer{}, ctx.Err()
		}
	}
	return payments.Answer{}, nil
}

func (p *probeProvider) called() (map[string]int, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	calls := map[string]int{}
	for k, n := range p.calls {
		calls[k] = n
	}
	return calls, p.inTx
}

type paymentsFixture struct {
	h        *handlers.Handlers
	provider *probeProvider
	customer string
}

// setupPayments returns the handlers of the test's own database, without
// consumers (the test delivers AuthorizePayment itself, as the bus would),
// asking a probe provider, and a customer with balance.
func setupPayments(t *testing.T, balance money.Amount, hold string) paymentsFixture {
	t.Helper()
	env := testenv.New(t)
	svc, err := service.Open(context.Background(), env.Config, env.Logger)
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	h := handlers.New(svc.Stores(), time.Now, env.Logger)
	p := &probeProvider{pool: h.Customers.Store().Pool(), hold: hold, asked: make(chan struct{}, 1), release: make(chan struct{}), calls: map[string]int{}}
	h.Provider = p
	h.ProviderTimeout = time.Minute

	customer := uuid.NewString()
	_, err = h.Customers.Execute(context.Background(), handlers.Message{Handler: handlers.RegisterCustomerHandler, ID: uuid.NewString()}, customer,
		func(c *payments.Customer) ([]messages.Event, error) {
			return c.Register(messages.RegisterCustomer{CustomerID: customer, Email: "a@example.com", Name: "A", InitialCredit: balance})
		})
	require.NoError(t, err)
	return paymentsFixture{h: h, provider: p, customer: customer}
}

// authorize delivers AuthorizePayment as message msgID to its handler.
func (f paymentsFixture) authorize(ctx context.Context, msgID, orderID string, amount money.Amount) error {
	for _, bh := range f.h.BusHandlers() {
		if bh.Name == handlers.PaymentsCommandsHandler {
			return bh.Handle(ctx, []handlers.Received{{ID: msgID, CorrelationID: orderID,
				Command: messages.AuthorizePayment{CustomerID: f.customer, OrderID: orderID, Amount: amount}}})
		}
	}
	return fmt.Errorf("no %s handler", handlers.PaymentsCommandsHandler)
}

func (f paymentsFixture) account(t *testing.T) *payments.Customer {
	t.Helper()
	c, err := f.h.Customers.Load(context.Background(), f.customer)
	require.NoError(t, err)
	return c
}

// While the provider is being asked, no transaction of the payments
// database is open and the customer's stream is not locked: another
// authorization of the same customer commits meanwhile. The slow answer is
// then recorded on fresh state: the provider approved, but the money is
// gone, so the payment is refused and nothing is held.
func TestProviderIsAskedOutsideTransactionsAndStreamLocks(t *testing.T) {
	t.Parallel()
	f := setupPayments(t, 1000, "slow-order")
	ctx := context.Background()

	release := sync.OnceFunc(func() { close(f.provider.release) })
	defer release()
	slow := make(chan error, 1)
	go func() { slow <- f.authorize(ctx, uuid.NewString(), "slow-order", 800) }()
	select {
	case <-f.provider.asked:
	case <-time.After(30 * time.Second):
		t.Fatal("the provider was not asked")
	}

	fastCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, f.authorize(fastCtx, uuid.NewString(), "fast-order", 500), "the customer's stream is free while the provider answers")
	release()
	require.NoError(t, <-slow)

	calls, inTx := f.provider.called()
	require.Equal(t, map[string]int{"slow-order": 1, "fast-order": 1}, calls)
	require.Zero(t, inTx, "sessions idle in a transaction while the provider was asked")

	c := f.account(t)
	require.Equal(t, money.Amount(500), c.Balance())
	require.Equal(t, money.Amount(500), c.HeldFor("fast-order"))
	require.Zero(t, c.HeldFor("slow-order"))
	records, err := f.h.Customers.Store().ReadStream(ctx, f.h.Customers.Store().Pool(), f.customer, 0)
	require.NoError(t, err)
	last, err := records[len(records)-1].Decode()
	require.NoError(t, err)
	require.Equal(t, messages.PaymentAuthorizationRejected{
		CustomerID: f.customer, OrderID: "slow-order", Amount: 800, Balance: 500, Reason: messages.ReasonInsufficientFunds,
	}, last)
}

// A redelivered AuthorizePayment is found in the inbox before the provider
// is asked: the provider hears of each message once and the account holds
// once.
func TestRedeliveredAuthorizationAsksTheProviderOnce(t *testing.T) {
	t.Parallel()
	f := setupPayments(t, 1000, "")
	ctx := context.Background()

	msgID := uuid.NewString()
	for range 3 {
		require.NoError(t, f.authorize(ctx, msgID, "order-1", 300))
	}
	require.NoError(t, f.authorize(ctx, uuid.NewString(), "order-2", 200))

	calls, inTx := f.provider.called()
	require.Equal(t, map[string]int{"order-1": 1, "order-2": 1}, calls)
	require.Zero(t, inTx)
	c := f.account(t)
	require.Equal(t, 3, c.Version(), "registered, authorized order-1 once, authorized order-2")
	require.Equal(t, money.Amount(300), c.HeldFor("order-1"))
	require.Equal(t, money.Amount(500), c.Balance())
}

// A provider's refusal is recorded with its reason and holds nothing.
func TestProviderRefusalIsRecorded(t *testing.T) {
	t.Parallel()
	f := setupPayments(t, 1000, "")
	f.h.Provider = &payments.FaultyProvider{Next: f.provider, RefusalRate: 1}
	ctx := context.Background()

	require.NoError(t, f.authorize(ctx, uuid.NewString(), "order-1", 300))

	c := f.account(t)
	require.Equal(t, 2, c.Version())
	require.Zero(t, c.HeldFor("order-1"))
	require.Equal(t, money.Amount(1000), c.Balance())
	records, err := f.h.Customers.Store().ReadStream(ctx, f.h.Customers.Store().Pool(), f.customer, 1)
	require.NoError(t, err)
	ev, err := records[0].Decode()
	require.NoError(t, err)
	require.Equal(t, messages.PaymentAuthorizationRejected{
		CustomerID: f.customer, OrderID: "order-1", Amount: 300, Balance: 1000, Reason: payments.ReasonDeclinedByProvider,
	}, ev)
}
