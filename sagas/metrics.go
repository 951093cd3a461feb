package sagas

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are what an operator watches: how long sagas take per outcome,
// how often each step is compensated and why, and how many wait for an
// operator.
type metrics struct {
	duration      *prometheus.HistogramVec
	compensations *prometheus.CounterVec
	timeouts      *prometheus.CounterVec
	unsent        *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "saga_duration_seconds",
			Help:    "Time from the start of a saga to its end, by saga type and outcome (confirmed, cancelled, failed, parked).",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"saga_type", "outcome"}),
		compensations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "compensation_total",
			Help: "Completed steps undone by sagas, by saga type, step and reason (error code or CANCELLED_BY_CUSTOMER).",
		}, []string{"saga_type", "step", "reason"}),
		timeouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "saga_deadline_total",
			Help: "Saga deadlines that passed, by saga type and phase: each re-sends the phase's commands or gives up.",
		}, []string{"saga_type", "phase"}),
		unsent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "saga_unsent_attempts_total",
			Help: "Saga attempts whose commands never reached Kafka, by saga type and phase: they are sent again without counting against the attempts.",
		}, []string{"saga_type", "phase"}),
	}
	reg.MustRegister(m.duration, m.compensations, m.timeouts, m.unsent)
	return m
}

func (m *metrics) observe(st *State, d Decision) {
	for _, step := range d.Compensated {
		m.compensations.WithLabelValues(SagaType, string(step), st.Failure.reason()).Inc()
	}
	if d.Finished {
		m.duration.WithLabelValues(SagaType, string(st.Outcome)).Observe(st.EndedAt.Sub(st.StartedAt).Seconds())
	}
}
