package outbox

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the relay's Prometheus series, labelled with the context
// (schema) and relay name so the relays of all contexts can share one
// registry. Counting the events beyond the checkpoint would cost a scan, so
// lag is exported as a time instead: relay_lag_seconds.
type metrics struct {
	published     prometheus.Counter
	batches       prometheus.Counter
	publishErrors prometheus.Counter
	lastPosition  prometheus.Gauge
	active        prometheus.Gauge
	blocked       prometheus.Gauge
	refused       prometheus.Counter

	mu sync.Mutex
	// waitingSince is when the oldest event known to wait for publishing
	// was appended; zero when the relay has caught up.
	waitingSince time.Time
	now          func() time.Time
}

func newMetrics(reg prometheus.Registerer, schema, name string) (*metrics, error) {
	labels := prometheus.Labels{"context": schema, "relay": name}
	m := &metrics{
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "orderflow", Subsystem: "relay", Name: "events_published_total", ConstLabels: labels,
			Help: "Events published to Kafka (a crash between publish and checkpoint publishes some twice).",
		}),
		batches: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "orderflow", Subsystem: "relay", Name: "batches_published_total", ConstLabels: labels,
			Help: "Batches published to Kafka, each one SendMessages call.",
		}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "orderflow", Subsystem: "relay", Name: "publish_errors_total", ConstLabels: labels,
			Help: "Failed batch publishes; each is retried with backoff, no event is skipped.",
		}),
		lastPosition: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "orderflow", Subsystem: "relay", Name: "last_published_position", ConstLabels: labels,
			Help: "Event store position of the last published event (positions are not in commit order).",
		}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "orderflow", Subsystem: "relay", Name: "active", ConstLabels: labels,
			Help: "1 while this instance holds the relay lock and publishes, 0 while it stands by.",
		}),
		blocked: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "orderflow", Subsystem: "relay", Name: "blocked_streams", ConstLabels: labels,
			Help: "Streams whose next event the broker refused for good: nothing more of them is published until an operator retries them (see <context>.relay_blocked_streams). Reported by the active instance, 0 on a standby.",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "orderflow", Subsystem: "relay", Name: "refused_events_total", ConstLabels: labels,
			Help: "Events the broker refused for good (too large, invalid), each blocking its stream.",
		}),
		now: time.Now,
	}
	lag := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "orderflow", Subsystem: "relay", Name: "lag_seconds", ConstLabels: labels,
		Help: "Age of the oldest committed event known to wait for publishing (read but not yet published, or held behind an older open transaction); 0 when caught up.",
	}, m.lagSeconds)
	if reg == nil {
		return m, nil
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.published, m.batches, m.publishErrors, m.lastPosition, m.active, m.blocked, m.refused, lag} {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("register relay metrics of %s/%s: %w", schema, name, err)
	}
	return m, nil
}

// waiting records that events appended at since (or later) wait; the zero
// time means caught up.
func (m *metrics) waiting(since time.Time) {
	m.mu.Lock()
	m.waitingSince = since
	m.mu.Unlock()
}

func (m *metrics) lagSeconds() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.waitingSince.IsZero() {
		return 0
	}
	return max(0, m.now().Sub(m.waitingSince).Seconds())
}
