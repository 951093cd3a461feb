package payments

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/orderflow/orderflow/internal/money"
)

// Provider authorizes payments at the payment service provider. It is asked
// before the transaction that records its answer, never inside one (an
// external call must not hold a database transaction or a stream lock), so
// it may be asked again for an authorization whose answer was never
// recorded: a provider authorizes each Authorization.Key once and answers a
// repeated key with its first answer. An error means the provider could not
// answer (transient) and the command is retried.
type Provider interface {
	Authorize(ctx context.Context, req Authorization) (Answer, error)
}

// Authorization asks the provider to authorize the payment of one order.
type Authorization struct {
	// Key is the idempotency key: the order id, as every order gets one
	// authorization.
	Key        string
	CustomerID string
	Amount     money.Amount
}

// Answer is the provider's answer to an Authorization. An approval is not a
// hold yet: the account records it with Customer.Authorize, which still
// refuses what the balance no longer covers; a refusal is recorded with
// Customer.Decline.
type Answer struct {
	// Declined is the provider's reason for refusing; empty when it
	// approved.
	Declined string
}

// BalanceProvider is the default provider: the funding source is the
// customer's account in the payments context, so it approves every
// authorization and leaves the balance to the account, which checks it on
// fresh state in the transaction that records the answer (a check made
// before, outside that transaction, could let two orders spend the same
// money). Its answer depends on nothing else, so a repeated key gets the
// same answer.
type BalanceProvider struct{}

// Authorize approves req.
func (BalanceProvider) Authorize(context.Context, Authorization) (Answer, error) {
	return Answer{}, nil
}

// ErrProviderUnavailable is the transient failure FaultyProvider injects.
var ErrProviderUnavailable = errors.New("payment provider unavailable")

// ReasonDeclinedByProvider is the refusal reason of an injected decline.
const ReasonDeclinedByProvider = "declined by the payment provider"

// FaultyProvider wraps a provider with injected faults, for tests and the
// benchmark: transient errors, latency, hard refusals, or no answer at all.
// Refusals are drawn from the authorization's key, not per call, so a
// repeated key gets its first answer, as from any provider.
type FaultyProvider struct {
	Next Provider
	// TransientErrorRate is the share of calls failing with
	// ErrProviderUnavailable (0..1).
	TransientErrorRate float64
	// FailFirst fails the first N calls per key, then lets them through:
	// a provider that fails transiently, then succeeds.
	FailFirst int
	// RefusalRate is the share of authorizations declined outright (0..1).
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
func (f *FaultyProvider) Authorize(ctx context.Context, req Authorization) (Answer, error) {
	if f.Hang {
		<-ctx.Done()
		return Answer{}, ctx.Err()
	}
	if f.Latency > 0 {
		select {
		case <-time.After(f.Latency):
		case <-ctx.Done():
			return Answer{}, ctx.Err()
		}
	}
	if f.failNow(req.Key) {
		return Answer{}, ErrProviderUnavailable
	}
	if f.RefusalRate > 0 && share(req.Key) < f.RefusalRate {
		return Answer{Declined: ReasonDeclinedByProvider}, nil
	}
	return f.Next.Authorize(ctx, req)
}

func (f *FaultyProvider) failNow(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.FailFirst > 0 {
		if f.failed == nil {
			f.failed = map[string]int{}
		}
		if f.failed[key] < f.FailFirst {
			f.failed[key]++
			return true
		}
	}
	return f.TransientErrorRate > 0 && rand.Float64() < f.TransientErrorRate
}

// share maps key to [0, 1), evenly over keys: the same key, the same draw.
func share(key string) float64 {
	sum := sha256.Sum256([]byte(key))
	return float64(binary.BigEndian.Uint64(sum[:])>>11) / (1 << 53)
}
