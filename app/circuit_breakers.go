package app

import (
	"context"

	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/breaker"
)

// CircuitBreakers reports the circuit breakers of this process
// (breaker.Set).
type CircuitBreakers interface {
	Statuses() []breaker.Status
}

// CircuitBreakersHandler lets an operator see whether a dependency's
// breaker is open: while it is, messages that need the dependency pause
// instead of failing.
type CircuitBreakersHandler struct{ d *deps }

// Handle returns the state of every breaker of this process (admin only);
// none when the process has no breakers.
func (h CircuitBreakersHandler) Handle(_ context.Context, actor auth.Principal) ([]breaker.Status, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	if h.d.read.Breakers == nil {
		return []breaker.Status{}, nil
	}
	return h.d.read.Breakers.Statuses(), nil
}
