package postgres

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// PoolCollector shows each connection pool's use at scrape time: a pool
// whose acquired connections sit at its maximum, with acquisitions
// waiting, is what slows every command and saga step first.
type PoolCollector struct {
	pools       map[string]*pgxpool.Pool
	connections *prometheus.Desc
	max         *prometheus.Desc
	waits       *prometheus.Desc
	waited      *prometheus.Desc
}

// NewPoolCollector collects the pools by name (the label "pool").
func NewPoolCollector(pools map[string]*pgxpool.Pool) *PoolCollector {
	return &PoolCollector{
		pools: pools,
		connections: prometheus.NewDesc("orderflow_db_pool_connections",
			"Connections of the pool by state: acquired (in use), idle, constructing.", []string{"pool", "state"}, nil),
		max: prometheus.NewDesc("orderflow_db_pool_max_connections",
			"The pool's maximum number of connections.", []string{"pool"}, nil),
		waits: prometheus.NewDesc("orderflow_db_pool_empty_acquire_total",
			"Acquisitions that had to wait for a connection because none was idle.", []string{"pool"}, nil),
		waited: prometheus.NewDesc("orderflow_db_pool_acquire_wait_seconds_total",
			"Total time acquisitions waited for a connection.", []string{"pool"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *PoolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.connections
	ch <- c.max
	ch <- c.waits
	ch <- c.waited
}

// Collect implements prometheus.Collector.
func (c *PoolCollector) Collect(ch chan<- prometheus.Metric) {
	for name, pool := range c.pools {
		st := pool.Stat()
		ch <- prometheus.MustNewConstMetric(c.connections, prometheus.GaugeValue, float64(st.AcquiredConns()), name, "acquired")
		ch <- prometheus.MustNewConstMetric(c.connections, prometheus.GaugeValue, float64(st.IdleConns()), name, "idle")
		ch <- prometheus.MustNewConstMetric(c.connections, prometheus.GaugeValue, float64(st.ConstructingConns()), name, "constructing")
		ch <- prometheus.MustNewConstMetric(c.max, prometheus.GaugeValue, float64(st.MaxConns()), name)
		ch <- prometheus.MustNewConstMetric(c.waits, prometheus.CounterValue, float64(st.EmptyAcquireCount()), name)
		ch <- prometheus.MustNewConstMetric(c.waited, prometheus.CounterValue, st.EmptyAcquireWaitTime().Seconds(), name)
	}
}
