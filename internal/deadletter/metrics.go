package deadletter

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the retry levels' and the dead-letter store's metrics of one
// process.
type Metrics struct {
	retried  *prometheus.CounterVec
	deadened *prometheus.CounterVec
	parked   *prometheus.GaugeVec
	oldest   *prometheus.GaugeVec
	dead     *prometheus.GaugeVec
}

// NewMetrics registers the metrics with reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		retried: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderflow_messages_retried_total",
			Help: "Attempts of a failed message after its first, per handler and level: in_place (in the consumer, holding the partition), paused (a dependency's breaker is open), or the parked retry level 1, 2, ...",
		}, []string{"handler", "level"}),
		deadened: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderflow_dead_letters_total",
			Help: "Messages that became dead letters, per handler and error class.",
		}, []string{"handler", "class"}),
		parked: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "orderflow_messages_parked",
			Help: "Messages parked for a later retry or waiting behind an earlier one of their aggregate, per handler.",
		}, []string{"handler"}),
		oldest: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "orderflow_messages_parked_oldest_age_seconds",
			Help: "Age of the oldest parked message (since its first failure), per handler; 0 when none is parked.",
		}, []string{"handler"}),
		dead: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "orderflow_dead_letters",
			Help: "Dead letters waiting for an operator (replay or discard), per handler and error class.",
		}, []string{"handler", "class"}),
	}
	if reg != nil {
		reg.MustRegister(m.retried, m.deadened, m.parked, m.oldest, m.dead)
	}
	return m
}

// RetriedInPlace counts a retry in the consumer.
func (m *Metrics) RetriedInPlace(handler string) {
	m.retried.WithLabelValues(handler, "in_place").Inc()
}

// Paused counts a retry while a dependency is unavailable.
func (m *Metrics) Paused(handler string) { m.retried.WithLabelValues(handler, "paused").Inc() }

// RetriedParked counts a scheduler's retry of a parked message at level
// (0-based).
func (m *Metrics) RetriedParked(handler string, level int) {
	m.retried.WithLabelValues(handler, strconv.Itoa(level+1)).Inc()
}

// Dead counts a message that became a dead letter.
func (m *Metrics) Dead(handler string, class Class) {
	m.deadened.WithLabelValues(handler, string(class)).Inc()
}

// Observe sets the gauges from the store's stats; handlers lists handlers
// to report even without open entries (as zero).
func (m *Metrics) Observe(stats map[string]*HandlerStats, handlers []string, now time.Time) {
	m.dead.Reset()
	m.parked.Reset()
	m.oldest.Reset()
	for _, h := range handlers {
		m.parked.WithLabelValues(h).Set(0)
		m.oldest.WithLabelValues(h).Set(0)
	}
	for h, st := range stats {
		m.parked.WithLabelValues(h).Set(float64(st.Parked))
		age := 0.0
		if st.Parked > 0 {
			age = now.Sub(st.OldestParked).Seconds()
		}
		m.oldest.WithLabelValues(h).Set(age)
		for class, n := range st.Dead {
			m.dead.WithLabelValues(h, string(class)).Set(float64(n))
		}
	}
}

// Monitor sets m's gauges from store every interval until ctx ends.
func Monitor(ctx context.Context, store *Store, m *Metrics, handlers []string, interval time.Duration, logger *slog.Logger) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		stats, err := store.Stats(ctx)
		switch {
		case err == nil:
			m.Observe(stats, handlers, time.Now())
		case ctx.Err() == nil:
			logger.Warn("dead-letter stats unavailable", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
