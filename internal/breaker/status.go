package breaker

import (
	"time"

	"github.com/sony/gobreaker"
)

// State is a breaker's state as operators name it.
type State string

// The states of a breaker.
const (
	// Closed lets every call through.
	Closed State = "closed"
	// HalfOpen lets a few probes through after the open timeout.
	HalfOpen State = "half_open"
	// Open refuses every call until its timeout passes.
	Open State = "open"
)

// Status is where a breaker stands: what an operator looks at when
// messages stop flowing, to tell a dependency's outage from a bug.
type Status struct {
	// Name is the dependency (elasticsearch, payment_provider).
	Name  string
	State State
	// ConsecutiveFailures counts the failures in a row in the current
	// state (0 when the last call succeeded).
	ConsecutiveFailures int
	// Since is when the state last changed (the breaker's creation while
	// it never has).
	Since time.Time
	// LastFailure is when a call last failed against the dependency or was
	// refused by the open breaker; zero if none ever did.
	LastFailure time.Time
}

// Status reports the breaker's state now. Reading it moves an open breaker
// whose timeout has passed to half-open, as the next call would.
func (b *Breaker) Status() Status {
	st := Status{
		Name:                b.name,
		State:               stateName(b.cb.State()),
		ConsecutiveFailures: int(b.cb.Counts().ConsecutiveFailures),
		Since:               time.Unix(0, b.changed.Load()).UTC(),
	}
	if ns := b.lastFailure.Load(); ns > 0 {
		st.LastFailure = time.Unix(0, ns).UTC()
	}
	return st
}

func stateName(s gobreaker.State) State {
	switch s {
	case gobreaker.StateOpen:
		return Open
	case gobreaker.StateHalfOpen:
		return HalfOpen
	default:
		return Closed
	}
}

// Set is the breakers of one process, in the order they are listed.
type Set []*Breaker

// Statuses reports every breaker of the set.
func (s Set) Statuses() []Status {
	out := make([]Status, 0, len(s))
	for _, b := range s {
		if b != nil {
			out = append(out, b.Status())
		}
	}
	return out
}
