package reconcile

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics show the last report of the deployment, whichever process ran
// it: the worker that runs the reconciliation periodically also reads the
// reports of runs elsewhere (orderflow reconcile) into them.
type metrics struct {
	divergences *prometheus.GaugeVec
	lastRun     prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		divergences: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "orderflow_divergences",
			Help: "Divergences the last reconciliation found, by kind, healed or not (every kind is present, 0 when none).",
		}, []string{"kind"}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "orderflow_reconcile_last_run_timestamp_seconds",
			Help: "When the last reconciliation finished (Unix time); 0 before the first.",
		}),
	}
	if reg == nil {
		m.zero()
		return m, nil
	}
	// A second reconciler of the process (a dry run beside the periodic
	// one) shows its reports on the same gauges.
	err := reg.Register(m.divergences)
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		m.divergences = are.ExistingCollector.(*prometheus.GaugeVec)
	} else if err != nil {
		return nil, err
	} else {
		m.zero()
	}
	err = reg.Register(m.lastRun)
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		m.lastRun = are.ExistingCollector.(prometheus.Gauge)
	} else if err != nil {
		return nil, err
	}
	return m, nil
}

// zero makes every kind present before the first report.
func (m *metrics) zero() {
	for _, k := range Kinds() {
		m.divergences.WithLabelValues(string(k)).Set(0)
	}
}

// show sets the gauges from report.
func (m *metrics) show(r Report) {
	for _, k := range Kinds() {
		m.divergences.WithLabelValues(string(k)).Set(float64(r.Counts[k]))
	}
	m.lastRun.Set(float64(r.FinishedAt.UnixNano()) / 1e9)
}
