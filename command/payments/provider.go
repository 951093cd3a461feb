package payments

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/messages"
)

// Provider authorizes the payment of an order. Its answer is a decision on
// the customer's account: PaymentAuthorized, or PaymentAuthorizationRejected
// for a refusal (a fact the saga compensates, not an error). An error means
// the provider could not answer (transient) and the command is retried.
type Provider interface {
	Authorize(ctx context.Context, account *Customer, orderID string, amount money.Amount) ([]messages.Event, error)
}

// BalanceProvider is the default provider: it authorizes against the
// customer's balance in the payments context.
type BalanceProvider struct{}

// Authorize holds amount of the account's balance for the order.
func (BalanceProvider) Authorize(_ context.Context, account *Customer, orderID string, amount money.Amount) ([]messages.Event, error) {
	return account.Authorize(orderID, amount)
}

// ErrProviderUnavailable is the transient failure FaultyProvider injects.
var ErrProviderUnavailable = errors.New("payment provider unavailable")

// ReasonDeclinedByProvider is the refusal reason of an injected decline.
const ReasonDeclinedByProvider = "declined by the payment provider"

// FaultyProvider wraps a provider with injected faults, for tests and the
// benchmark: transient errors, latency, hard refusals, or no answer at all.
type FaultyProvider struct {
	Next Provider
	// TransientErrorRate is the share of calls failing with
	// ErrProviderUnavailable (0..1).
	TransientErrorRate float64
	// FailFirst fails the first N calls per order, then lets them through:
	// a provider that fails transiently, then succeeds.
	FailFirst int
	// RefusalRate is the share of calls declined outright (0..1).
	RefusalRate float64
	// Latency is added to every call.
	Latency time.Duration
	// Hang makes every call wait until its context ends: a provider that
	// never answers.
	Hang bool

	mu     sync.Mutex
	failed map[string]int
}

// Authorize applies the configured faults, then asks Next.
func (f *FaultyProvider) Authorize(ctx context.Context, account *Customer, orderID string, amount money.Amount) ([]messages.Event, error) {
	if f.Hang {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if f.Latency > 0 {
		select {
		case <-time.After(f.Latency):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.failNow(orderID) {
		return nil, ErrProviderUnavailable
	}
	// A decision already made for this order stands; only a first answer
	// can be a refusal.
	if account.HeldFor(orderID) == 0 && f.RefusalRate > 0 && rand.Float64() < f.RefusalRate {
		if err := account.mustExist(); err != nil {
			return nil, err
		}
		return []messages.Event{messages.PaymentAuthorizationRejected{
			CustomerID: account.ID(), OrderID: orderID, Amount: amount, Balance: account.Balance(), Reason: ReasonDeclinedByProvider,
		}}, nil
	}
	return f.Next.Authorize(ctx, account, orderID, amount)
}

func (f *FaultyProvider) failNow(orderID string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.FailFirst > 0 {
		if f.failed == nil {
			f.failed = map[string]int{}
		}
		if f.failed[orderID] < f.FailFirst {
			f.failed[orderID]++
			return true
		}
	}
	return f.TransientErrorRate > 0 && rand.Float64() < f.TransientErrorRate
}
