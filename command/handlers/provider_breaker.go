package handlers

import (
	"context"

	"github.com/orderflow/orderflow/command/domain/payments"
	"github.com/orderflow/orderflow/internal/breaker"
)

// BreakerProvider asks Next through a circuit breaker: while the provider
// keeps failing, authorizations fail at once as Unavailable, and the
// payments consumer pauses and probes instead of retrying every message
// against a provider that is down (package breaker).
type BreakerProvider struct {
	Next    payments.Provider
	Breaker *breaker.Breaker
}

// Authorize implements payments.Provider.
func (p BreakerProvider) Authorize(ctx context.Context, req payments.Authorization) (payments.Answer, error) {
	var answer payments.Answer
	err := p.Breaker.Do(func() error {
		var err error
		answer, err = p.Next.Authorize(ctx, req)
		return err
	})
	return answer, err
}
