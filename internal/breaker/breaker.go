// Package breaker puts circuit breakers (sony/gobreaker) in front of the
// dependencies whose outage would otherwise fail every message at once:
// the payment provider and Elasticsearch. A failure of the dependency is
// not the message's fault, so every error that passes a breaker is of
// class Unavailable (package deadletter): the consumer pauses on its batch
// and tries again, instead of parking one copy of the outage per message.
// While the breaker is open those attempts fail at once without reaching
// the dependency; after Timeout it lets a few probes through (half-open),
// and closes again when they succeed.
package breaker

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker"

	"github.com/orderflow/orderflow/internal/deadletter"
)

// Config is one breaker.
type Config struct {
	// Name is the dependency, the label of its metrics.
	Name string
	// Failures is how many consecutive failures open it. Default 5.
	Failures uint32
	// Timeout is how long it stays open before probing. Default 5 s.
	Timeout time.Duration
	// Probes is how many calls a half-open breaker lets through. Default 1.
	Probes uint32
	// Fails decides which errors count against the dependency (default:
	// every error); the others pass through unmarked.
	Fails func(error) bool
}

// Breaker guards one dependency.
type Breaker struct {
	name  string
	cb    *gobreaker.CircuitBreaker
	fails func(error) bool
	// lastFailure is when a call last failed or was refused (Unix ns).
	lastFailure atomic.Int64
	// changed is when the state last changed, or the breaker was made
	// (Unix ns).
	changed atomic.Int64
}

// ErrOpen is what a call refused by an open (or busy half-open) breaker
// returns, wrapped as Unavailable.
var ErrOpen = errors.New("circuit breaker open")

// New returns a breaker reporting its state to m (nil: no metrics).
func New(cfg Config, m *Metrics) *Breaker {
	if cfg.Failures == 0 {
		cfg.Failures = 5
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Probes == 0 {
		cfg.Probes = 1
	}
	if cfg.Fails == nil {
		cfg.Fails = func(err error) bool { return err != nil }
	}
	b := &Breaker{name: cfg.Name, fails: cfg.Fails}
	b.changed.Store(time.Now().UnixNano())
	b.cb = gobreaker.NewCircuitBreaker(gobreaker.Settings{
		Name: cfg.Name, MaxRequests: cfg.Probes, Timeout: cfg.Timeout,
		ReadyToTrip:  func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= cfg.Failures },
		IsSuccessful: func(err error) bool { return err == nil || !cfg.Fails(err) },
		OnStateChange: func(name string, _, to gobreaker.State) {
			b.changed.Store(time.Now().UnixNano())
			m.set(name, to)
		},
	})
	m.set(cfg.Name, gobreaker.StateClosed)
	return b
}

// Do runs fn through the breaker. An error that counts against the
// dependency, and a refusal of the open breaker, come back as Unavailable.
func (b *Breaker) Do(fn func() error) error {
	_, err := b.cb.Execute(func() (any, error) { return nil, fn() })
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
		b.lastFailure.Store(time.Now().UnixNano())
		return deadletter.UnavailableError(errors.Join(ErrOpen, err))
	case b.fails(err):
		b.lastFailure.Store(time.Now().UnixNano())
		return deadletter.UnavailableError(err)
	}
	return err
}

// Open reports whether the breaker refuses calls now.
func (b *Breaker) Open() bool { return b.cb.State() == gobreaker.StateOpen }

// Metrics is the breakers' state gauge.
type Metrics struct{ state *prometheus.GaugeVec }

// NewMetrics registers the gauge with reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "orderflow_circuit_breaker_state",
		Help: "State of the circuit breaker in front of a dependency: 0 closed, 1 half-open, 2 open.",
	}, []string{"dependency"})}
	if reg != nil {
		reg.MustRegister(m.state)
	}
	return m
}

// Gauge is the state gauge of one dependency.
func (m *Metrics) Gauge(dependency string) prometheus.Gauge {
	return m.state.WithLabelValues(dependency)
}

func (m *Metrics) set(name string, s gobreaker.State) {
	if m == nil {
		return
	}
	v := map[gobreaker.State]float64{gobreaker.StateClosed: 0, gobreaker.StateHalfOpen: 1, gobreaker.StateOpen: 2}[s]
	m.state.WithLabelValues(name).Set(v)
}

// FailedSince reports whether a call failed against the dependency, or
// was refused by the open breaker, at or after t: a caller whose work
// failed after t can tell the dependency's failure from its own.
func (b *Breaker) FailedSince(t time.Time) bool {
	return b.lastFailure.Load() >= t.UnixNano()
}
