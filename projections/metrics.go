package projections

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderflow/orderflow/projections/documents"
)

// metrics are the live projector's series, labelled by projection.
type metrics struct {
	events  *prometheus.CounterVec
	written *prometheus.CounterVec
	stale   *prometheus.CounterVec
	healed  *prometheus.CounterVec
	errors  *prometheus.CounterVec
	// refused and heldEvents count documents Elasticsearch refused for
	// good and the events skipped behind them; the held documents
	// themselves are a gauge of the status collector.
	refused    *prometheus.CounterVec
	heldEvents *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	lastEvent  *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	label := []string{"projection"}
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "orderflow", Subsystem: "projection", Name: "events_total",
			Help: "Events offered to the projection (duplicates included).",
		}, label),
		written: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "orderflow", Subsystem: "projection", Name: "documents_written_total",
			Help: "Documents written (one per stream and index per batch).",
		}, label),
		stale: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "orderflow", Subsystem: "projection", Name: "stale_writes_total",
			Help: "Writes refused with 409 because the index already held that version or a newer one (duplicates, late events, concurrent writers).",
		}, label),
		healed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "orderflow", Subsystem: "projection", Name: "gaps_healed_total",
			Help: "Documents whose next event skipped versions, re-read from the event store.",
		}, label),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "orderflow", Subsystem: "projection", Name: "errors_total",
			Help: "Batches that failed in part or whole; their events are redelivered.",
		}, label),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "orderflow", Subsystem: "projection", Name: "documents_refused_total",
			Help: "Document writes Elasticsearch refused for good (mapping or parse errors); each holds its aggregate (see projections.held_documents).",
		}, label),
		heldEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "orderflow", Subsystem: "projection", Name: "events_held_total",
			Help: "Events not applied because their aggregate's document is held.",
		}, label),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "orderflow", Subsystem: "projection", Name: "batch_duration_seconds",
			Help:    "Time to read, fold and write one batch.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}, label),
		lastEvent: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "orderflow", Subsystem: "projection", Name: "last_event_timestamp_seconds",
			Help: "When the newest event of the last batch this process projected was appended to the event store.",
		}, label),
	}
	if reg == nil {
		return m, nil
	}
	var errs []error
	reuse(reg, &m.events, &errs)
	reuse(reg, &m.written, &errs)
	reuse(reg, &m.stale, &errs)
	reuse(reg, &m.healed, &errs)
	reuse(reg, &m.errors, &errs)
	reuse(reg, &m.refused, &errs)
	reuse(reg, &m.heldEvents, &errs)
	reuse(reg, &m.duration, &errs)
	reuse(reg, &m.lastEvent, &errs)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("register projection metrics: %w", err)
	}
	return m, nil
}

// reuse registers *c, or adopts the identical collector a second
// Projector of the same process registered before.
func reuse[C prometheus.Collector](reg prometheus.Registerer, c *C, errs *[]error) {
	err := reg.Register(*c)
	if err == nil {
		return
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			*c = existing
			return
		}
	}
	*errs = append(*errs, err)
}

func (m *metrics) observe(n Name, out outcome, events []documents.Event, took time.Duration) {
	l := string(n)
	m.events.WithLabelValues(l).Add(float64(out.events))
	m.written.WithLabelValues(l).Add(float64(out.written))
	m.stale.WithLabelValues(l).Add(float64(out.stale))
	m.healed.WithLabelValues(l).Add(float64(out.healed))
	m.duration.WithLabelValues(l).Observe(took.Seconds())
	var newest time.Time
	for _, e := range events {
		if out.failed[e.StreamID] == nil && e.OccurredAt.After(newest) {
			newest = e.OccurredAt
		}
	}
	if !newest.IsZero() {
		m.lastEvent.WithLabelValues(l).Set(float64(newest.UnixNano()) / 1e9)
	}
}
