package observability_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/deploy/observability"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/internal/systemtest"
	"github.com/orderflow/orderflow/internal/testenv"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/reconcile"
)

// These tests hold the alert rules and the dashboard to the real
// Prometheus that deploy/local/deps runs (make test starts it): an
// in-process orderflow is scraped through a file_sd target of its own,
// under a job name no other test uses, and every query selects that job.

func TestPromtoolAcceptsTheRulesAndTheRunningConfig(t *testing.T) {
	t.Parallel()
	rules, err := filepath.Glob("rules/*.yml")
	require.NoError(t, err)
	require.NotEmpty(t, rules)
	out, err := exec.Command("promtool", append([]string{"check", "rules"}, rules...)...).CombinedOutput()
	require.NoError(t, err, "promtool check rules: %s", out)

	prom := testenv.NewPrometheus(t)
	cfg := filepath.Join(t.TempDir(), "prometheus.yml")
	require.NoError(t, os.WriteFile(cfg, []byte(prom.ConfigYAML), 0o644))
	out, err = exec.Command("promtool", "check", "config", cfg).CombinedOutput()
	require.NoError(t, err, "promtool check config: %s", out)

	// The running Prometheus evaluates every alert of these files.
	loaded, err := prom.RuleNames(context.Background())
	require.NoError(t, err)
	for _, name := range alertNames(t, rules) {
		require.Contains(t, loaded, name, "Prometheus at %s has not loaded the alert %s: deploy/local/deps start (make test) loads and reloads deploy/observability/rules/*.yml", prom.URL, name)
	}
}

func alertNames(t *testing.T, files []string) []string {
	t.Helper()
	var names []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var doc struct {
			Groups []struct {
				Rules []struct {
					Alert string `yaml:"alert"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		}
		require.NoError(t, yaml.Unmarshal(b, &doc), f)
		for _, g := range doc.Groups {
			for _, r := range g.Rules {
				if r.Alert != "" {
					names = append(names, r.Alert)
				}
			}
		}
	}
	return names
}

// panelQuery is one query of one dashboard panel.
type panelQuery struct {
	Panel string
	Expr  string
}

func dashboardQueries(t *testing.T) []panelQuery {
	t.Helper()
	b, err := observability.Files.ReadFile(observability.DashboardFile)
	require.NoError(t, err)
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(b, &dash))
	var out []panelQuery
	for _, p := range dash.Panels {
		require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		for _, tg := range p.Targets {
			require.Contains(t, tg.Expr, `job=~"$job"`, "panel %q selects the dashboard's job", p.Title)
			out = append(out, panelQuery{p.Title, tg.Expr})
		}
	}
	return out
}

// grafanaVars are the dashboard's variables, as Grafana fills them in.
var grafanaVars = regexp.MustCompile(`\$(job|__rate_interval)\b`)

func instantiate(expr, job string) string {
	return grafanaVars.ReplaceAllStringFunc(expr, func(v string) string {
		if v == "$job" {
			return regexp.QuoteMeta(job)
		}
		return "1m"
	})
}

// load is a short run of orders of every kind: confirmed, cancelled for
// want of money after the stock was reserved (a compensation), and
// refused for want of stock.
type load struct {
	t          *testing.T
	sys        *systemtest.System
	product    string
	scarce     string
	rich, poor string
	n          int
}

func newLoad(t *testing.T, sys *systemtest.System) *load {
	l := &load{t: t, sys: sys}
	l.product = l.newProduct(1_000_000)
	l.scarce = l.newProduct(0)
	l.rich = l.newCustomer(1_000_000_00)
	l.poor = l.newCustomer(1)
	return l
}

func (l *load) newProduct(stock int) string {
	p, err := l.sys.App.Commands.CreateProduct.Handle(context.Background(), systemtest.Admin, app.CreateProduct{
		SKU: fmt.Sprintf("SKU-%d", rand.IntN(1e9)), Name: "Widget", Price: money.Amount(2_50), InitialStock: stock,
	})
	require.NoError(l.t, err)
	return p.ID
}

func (l *load) newCustomer(credit money.Amount) string {
	c, err := l.sys.App.Commands.RegisterCustomer.Handle(context.Background(), systemtest.Admin, app.RegisterCustomer{
		Email: fmt.Sprintf("c%d@example.com", rand.IntN(1e9)), Name: "Customer", InitialCredit: credit,
	})
	require.NoError(l.t, err)
	return c.ID
}

// batch places one order of each kind.
func (l *load) batch() {
	for _, o := range []struct{ customer, product string }{
		{l.rich, l.product}, {l.rich, l.product}, {l.poor, l.product}, {l.rich, l.scarce},
	} {
		l.n++
		_, err := l.sys.App.Commands.PlaceOrder.Handle(context.Background(), systemtest.Admin, app.PlaceOrder{
			CustomerID: o.customer, IdempotencyKey: fmt.Sprintf("load-%d", l.n),
			Items:           []app.OrderItem{{ProductID: o.product, Quantity: 1}},
			ShippingAddress: messages.Address{Street: "1 Main St", City: "Springfield", Zip: "12345", Country: "US"},
			PaymentMethod:   messages.PaymentMethod{Type: "card", Token: "tok_4242"},
		})
		require.NoError(l.t, err)
	}
}

func TestDashboardQueriesHaveDataAndAlertsFire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	prom := testenv.NewPrometheus(t)
	sys := systemtest.Start(t, systemtest.Options{})
	rcfg := reconcile.DefaultConfig()
	rcfg.Grace, rcfg.Interval = 0, 0
	rec, err := sys.Service.Reconciler(rcfg) // its gauges are on the scraped registry
	require.NoError(t, err)
	job := prom.Expose(t, sys.Service.Metrics)

	queries := dashboardQueries(t)
	l := newLoad(t, sys)
	// The load runs until every query has data: a rate needs two scrapes
	// of a series that grew between them, so the orders keep coming while
	// Prometheus scrapes every second.
	missing := queries
	require.Eventually(t, func() bool {
		l.batch()
		_, err := rec.Run(ctx)
		require.NoError(t, err)
		missing = slices.DeleteFunc(slices.Clone(missing), func(q panelQuery) bool {
			samples, err := prom.Query(ctx, instantiate(q.Expr, job))
			require.NoError(t, err, "panel %q", q.Panel)
			return len(testenv.Numbers(samples)) > 0
		})
		return len(missing) == 0
	}, 3*time.Minute, time.Second, "panels without data after the load: %v", &missing)
	t.Logf("%d orders placed; all %d queries of the dashboard have data", l.n, len(queries))

	// DivergencesFound, caused for real: a reservation for an order that
	// does not exist, which the reconciliation finds and leaves to a person.
	stores := sys.Service.Stores()
	appendEvent(t, stores.Inventory, l.product, handlers.ProductStream,
		messages.StockReserved{ProductID: l.product, OrderID: "no-such-order", Quantity: 1})
	require.Eventually(t, func() bool {
		report, err := rec.Run(ctx)
		require.NoError(t, err)
		return report.Counts[reconcile.ReservationOrphaned] > 0
	}, time.Minute, 100*time.Millisecond, "the reconciliation finds the orphaned reservation")
	var seen []testenv.Alert
	require.Eventually(t, func() bool {
		alerts, err := prom.Alerts(ctx)
		require.NoError(t, err)
		seen = slices.DeleteFunc(alerts, func(a testenv.Alert) bool { return a.Labels["job"] != job })
		return slices.ContainsFunc(seen, func(a testenv.Alert) bool {
			return a.Labels["alertname"] == "DivergencesFound" && a.State == "firing" &&
				a.Labels["kind"] == string(reconcile.ReservationOrphaned) && a.Labels["severity"] == "warning"
		})
	}, time.Minute, 500*time.Millisecond, "DivergencesFound fires for the test's job: %v", &seen)
}

// appendEvent appends e to the stream as it stands, again on a concurrency
// conflict: the load's last commands on the stream may still be running.
func appendEvent(t *testing.T, store *eventstore.Store, streamID, streamType string, e messages.Event) {
	t.Helper()
	ctx := context.Background()
	pool := store.Pool()
	try := func() error {
		version, err := store.StreamVersion(ctx, pool, streamID)
		if err != nil {
			return err
		}
		tx, err := pool.Begin(ctx)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(ctx) }()
		if _, err := store.Append(ctx, tx, streamID, streamType, version, eventstore.Metadata{CorrelationID: "test"}, e); err != nil {
			return err
		}
		return tx.Commit(ctx)
	}
	err := try()
	for attempt := 0; errors.Is(err, eventstore.ErrConcurrencyConflict) && attempt < 20; attempt++ {
		time.Sleep(50 * time.Millisecond)
		err = try()
	}
	require.NoError(t, err)
}
