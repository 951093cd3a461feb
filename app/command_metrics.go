package app

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderflow/orderflow/internal/errcode"
)

// CommandMetrics time the commands this process runs for its callers: for
// placeOrder that is the placement latency a customer sees (validation,
// the append with the saga's start, the commit), the first half of an
// order's end-to-end time.
type CommandMetrics struct {
	duration *prometheus.HistogramVec
}

// NewCommandMetrics registers the command metrics with reg.
func NewCommandMetrics(reg prometheus.Registerer) *CommandMetrics {
	m := &CommandMetrics{duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "orderflow_command_duration_seconds",
		Help:    "Time a caller's command took in this process, by command and result (ok or the error code).",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"command", "result"})}
	reg.MustRegister(m.duration)
	return m
}

func (m *CommandMetrics) observe(command string, began time.Time, err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = string(errcode.Of(err))
	}
	m.duration.WithLabelValues(command, result).Observe(time.Since(began).Seconds())
}
