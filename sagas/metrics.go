package sagas

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are what an operator watches: how long sagas take per outcome,
// how many succeed and fail, how often each step is compensated and why,
// and how many wait for an operator. The names and labels are those of the
// requirements (saga_duration_seconds{saga_type,status},
// compensation_total{saga_type,step,reason}); the alert rules and the
// dashboard in deploy/observability are written against them.
type metrics struct {
	duration      *prometheus.HistogramVec
	succeeded     *prometheus.CounterVec
	failed        *prometheus.CounterVec
	compensations *prometheus.CounterVec
	timeouts      *prometheus.CounterVec
	unsent        *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "saga_duration_seconds",
			Help:    "Time from the start of a saga (the order's placement) to its end, by saga type and status (confirmed, cancelled, failed, parked).",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"saga_type", "status"}),
		succeeded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "saga_success_total",
			Help: "Sagas that ended with their order confirmed, by saga type.",
		}, []string{"saga_type"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "saga_failure_total",
			Help: "Sagas that ended without confirming their order for a reason other than the customer's cancellation (cancelled or failed with an error code, or parked for an operator), by saga type, status and reason.",
		}, []string{"saga_type", "status", "reason"}),
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
	// Present from the start, so a failure rate is 0 rather than absent
	// while nothing has failed.
	m.succeeded.WithLabelValues(SagaType)
	reg.MustRegister(m.duration, m.succeeded, m.failed, m.compensations, m.timeouts, m.unsent)
	return m
}

func (m *metrics) observe(st *State, d Decision) {
	for _, step := range d.Compensated {
		m.compensations.WithLabelValues(SagaType, string(step), st.Failure.reason()).Inc()
	}
	if !d.Finished {
		return
	}
	m.duration.WithLabelValues(SagaType, string(st.Outcome)).Observe(st.EndedAt.Sub(st.StartedAt).Seconds())
	if st.Outcome == OutcomeConfirmed {
		m.succeeded.WithLabelValues(SagaType).Inc()
		return
	}
	reason := "UNKNOWN"
	switch {
	case st.Failure != nil:
		reason = st.Failure.reason()
	case st.TimedOut != nil:
		reason = st.TimedOut.reason()
	}
	if reason == "CANCELLED_BY_CUSTOMER" {
		return // the customer's choice, not a failure of the platform
	}
	m.failed.WithLabelValues(SagaType, string(st.Outcome), reason).Inc()
}
