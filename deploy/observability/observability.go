// Package observability holds what an operator watches orderflow with: the
// Prometheus alert rules (rules/*.yml, loaded by the Prometheus that
// deploy/local/deps starts) and the Grafana dashboard
// (orderflow-dashboard.json). Its tests check both against the real
// Prometheus: promtool accepts the rules and the running configuration,
// every panel's query has data after a short load of an in-process
// orderflow, and an alert fires when its condition is caused.
package observability

import "embed"

// Files are the rules and the dashboard, for tools that install them.
//
//go:embed rules/*.yml orderflow-dashboard.json
var Files embed.FS

// DashboardFile is the Grafana dashboard's name in Files.
const DashboardFile = "orderflow-dashboard.json"
