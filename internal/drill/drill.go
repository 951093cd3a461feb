// Package drill runs crash drills against a local cluster
// (deploy/local/cluster) and its servers (deploy/local/deps): for each
// scenario an open-loop load from the bench, one fault 20-30 s into it
// (kill -9 a process, crash a server, a rolling restart), recovery, then
// the bench's settle and invariants, and one table row: placed, final,
// lost, doubled, stuck, failed or parked because of the fault, invariants,
// and the seconds until orders completed again and until the read model
// showed them.
//
// Drills kill servers: run them only against a private set
// (ORDERFLOW_*_PORT, ORDERFLOW_STATE_DIR; see deploy/local/deps), never
// against servers others use.
package drill

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orderflow/orderflow/bench"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/pause"
)

// Config is one drill run.
type Config struct {
	// Cluster and Deps are the scripts (deploy/local/cluster, deps).
	Cluster, Deps string
	// Bench is the load; its URL is the cluster's balancer.
	Bench bench.Config
	// FaultAt is when, into the load, the fault is injected.
	FaultAt time.Duration
	// Down is how long a killed process or server stays down (a scenario
	// may say otherwise).
	Down time.Duration
	// PostgresURL reaches the cluster's database, for the sagas.
	PostgresURL string
	// Scenarios to run, by name (all when empty).
	Scenarios []string
}

// Row is one scenario's outcome.
type Row struct {
	Scenario string
	Placed   int64
	Final    int64
	Lost     int
	Doubled  int
	Stuck    int
	// Failed counts orders the system gave up on (SAGA_TIMEOUT,
	// COMPENSATION_FAILED) and parked sagas.
	Failed     int
	Invariants bool
	// Recovered is the time from the fault until an order placed after it
	// completed; ReadModel until that order showed final in the read
	// model. Negative: not seen.
	Recovered, ReadModel time.Duration
	// ServerRestart is how long a crashed server took to start again
	// (deploy/local/deps start until healthy); 0 for process faults.
	ServerRestart time.Duration
	// ClientErrors are the requests that failed as the client saw them,
	// by operation and code (a placement answered by a retry with the same
	// key still counts its failed attempt here).
	ClientErrors []bench.ErrorCount
	Err          error
}

// OK reports a scenario that lost, doubled, left stuck or failed nothing
// and kept every invariant.
func (r Row) OK() bool {
	return r.Err == nil && r.Lost == 0 && r.Doubled == 0 && r.Stuck == 0 && r.Failed == 0 && r.Invariants
}

// Scenario is one fault.
type Scenario struct {
	Name string
	// Inject injects the fault and recovers from it; it returns when the
	// fault is over (the process or server started again).
	Inject func(ctx context.Context, c *control) error
}

// control runs the cluster and deps scripts.
type control struct {
	cfg    Config
	logger *slog.Logger
	// restart is how long the last crashed server took to start again.
	restart time.Duration
}

func (c *control) run(ctx context.Context, script string, args ...string) error {
	cmd := exec.CommandContext(ctx, script, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", script, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	c.logger.Info("drill step", "script", script, "args", strings.Join(args, " "))
	return nil
}

func (c *control) cluster(ctx context.Context, args ...string) error {
	return c.run(ctx, c.cfg.Cluster, args...)
}

// kill sends signal to the named processes, waits down, starts them again.
func (c *control) kill(ctx context.Context, signal string, down time.Duration, names ...string) error {
	for _, n := range names {
		if err := c.cluster(ctx, "kill", n, signal); err != nil {
			return err
		}
	}
	pause.For(ctx, down)
	for _, n := range names {
		if err := c.cluster(ctx, "start", n); err != nil {
			return err
		}
	}
	return nil
}

// crash kills a server of deploy/local/deps with SIGKILL (its pid file in
// $ORDERFLOW_STATE_DIR/run), waits down and starts it again.
func (c *control) crash(ctx context.Context, server string, down time.Duration) error {
	state := os.Getenv("ORDERFLOW_STATE_DIR")
	if state == "" {
		return fmt.Errorf("ORDERFLOW_STATE_DIR is not set: drills crash only a private set of servers")
	}
	raw, err := os.ReadFile(state + "/run/" + server + ".pid")
	if err != nil {
		return fmt.Errorf("pid of %s: %w", server, err)
	}
	pid := strings.TrimSpace(string(raw))
	if err := exec.CommandContext(ctx, "kill", "-KILL", pid).Run(); err != nil {
		return fmt.Errorf("kill %s (%s): %w", server, pid, err)
	}
	c.logger.Info("drill step", "crashed", server, "pid", pid)
	pause.For(ctx, down)
	started := time.Now()
	// Only the crashed server: the others of the set are running, and a
	// set may leave some out (a private set shares the one Prometheus).
	err = c.run(ctx, c.cfg.Deps, "start", server)
	c.restart = time.Since(started)
	return err
}

// rolling stops every process with SIGTERM and starts it again, one at a
// time, waiting for each to be ready.
func (c *control) rolling(ctx context.Context) error {
	for _, n := range []string{"api-1", "api-2", "worker-1", "worker-2", "relay-1", "relay-2", "projector-1", "projector-2"} {
		if err := c.cluster(ctx, "restart", n); err != nil {
			return err
		}
	}
	return nil
}

// Scenarios are the drills, in the order they run.
func Scenarios(down time.Duration) []Scenario {
	killAfter := func(names ...string) func(ctx context.Context, c *control) error {
		return func(ctx context.Context, c *control) error { return c.kill(ctx, "KILL", down, names...) }
	}
	return []Scenario{
		{Name: "kill -9 one api", Inject: killAfter("api-1")},
		{Name: "kill -9 one worker", Inject: killAfter("worker-1")},
		{Name: "kill -9 both workers", Inject: killAfter("worker-1", "worker-2")},
		{Name: "kill -9 a relay", Inject: killAfter("relay-1")},
		{Name: "kill -9 both projectors", Inject: killAfter("projector-1", "projector-2")},
		{Name: "postgres crash", Inject: func(ctx context.Context, c *control) error { return c.crash(ctx, "postgres", 10*time.Second) }},
		{Name: "kafka kill -9", Inject: func(ctx context.Context, c *control) error { return c.crash(ctx, "kafka", 10*time.Second) }},
		{Name: "kafka down 3 min", Inject: func(ctx context.Context, c *control) error { return c.crash(ctx, "kafka", 3*time.Minute) }},
		{Name: "elasticsearch kill -9", Inject: func(ctx context.Context, c *control) error { return c.crash(ctx, "elasticsearch", 15*time.Second) }},
		{Name: "rolling restart (SIGTERM)", Inject: func(ctx context.Context, c *control) error { return c.rolling(ctx) }},
	}
}

// Run runs the chosen scenarios one after another and returns their rows.
func Run(ctx context.Context, cfg Config, progress io.Writer, logger *slog.Logger) ([]Row, error) {
	pool, err := pgxpool.New(ctx, cfg.PostgresURL)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	defer pool.Close()
	c := &control{cfg: cfg, logger: logger}
	var rows []Row
	for _, sc := range Scenarios(cfg.Down) {
		if len(cfg.Scenarios) > 0 && !chosen(cfg.Scenarios, sc.Name) {
			continue
		}
		fmt.Fprintf(progress, "drill: %s\n", sc.Name)
		row := runScenario(ctx, cfg, c, pool, sc, progress, logger)
		if row.Err != nil {
			fmt.Fprintf(progress, "drill: %s: %v\n", sc.Name, row.Err)
		}
		rows = append(rows, row)
		if ctx.Err() != nil {
			break
		}
	}
	return rows, nil
}

func chosen(names []string, name string) bool {
	for _, n := range names {
		if strings.EqualFold(strings.TrimSpace(n), name) || strings.Contains(strings.ToLower(name), strings.ToLower(strings.TrimSpace(n))) {
			return true
		}
	}
	return false
}

func runScenario(ctx context.Context, cfg Config, c *control, pool *pgxpool.Pool, sc Scenario, progress io.Writer, logger *slog.Logger) Row {
	row := Row{Scenario: sc.Name, Recovered: -1, ReadModel: -1}
	if err := c.cluster(ctx, "up"); err != nil {
		row.Err = err
		return row
	}
	type outcome struct {
		res *bench.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := bench.Run(ctx, cfg.Bench, progress, logger)
		done <- outcome{res, err}
	}()
	// The bench sets up its catalog first; the fault counts from the load.
	pause.For(ctx, cfg.FaultAt)
	injected := time.Now()
	recovered := make(chan [2]time.Duration, 1)
	go func() { recovered <- watchRecovery(ctx, cfg, pool, injected) }()
	c.restart = 0
	if err := sc.Inject(ctx, c); err != nil {
		// Said at once: the bench goes on until its orders settle or its
		// re-sends give up, which takes minutes with a server left down.
		c.logger.Error("drill fault not injected or not recovered", "scenario", sc.Name, "error", err)
		row.Err = err
	}
	row.ServerRestart = c.restart
	out := <-done
	select {
	case r := <-recovered:
		row.Recovered, row.ReadModel = r[0], r[1]
	case <-time.After(10 * time.Second):
	}
	if out.err != nil {
		row.Err = out.err
		return row
	}
	res := out.res
	row.Placed, row.Final = res.Counts.Placed, res.Counts.Final
	row.Invariants = res.Passed
	row.ClientErrors = res.Errors
	for _, inv := range res.Invariants {
		switch inv.Name {
		case bench.InvNoneLost, bench.InvPlacementsAnswered:
			row.Lost += inv.Violations
		case bench.InvIdempotent:
			row.Doubled += inv.Violations
		case bench.InvOrdersFinal:
			row.Stuck += inv.Violations
		case bench.InvNoSystemFailure:
			row.Failed += inv.Violations
		}
		if !inv.Passed {
			for _, e := range inv.Examples {
				fmt.Fprintf(progress, "  %s: %s\n", inv.Name, e)
			}
		}
	}
	var parked, active int
	_ = pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE phase = 'PARKED'), count(*) FILTER (WHERE phase NOT IN ('DONE', 'PARKED'))
		FROM sagas.order_sagas WHERE started_at >= $1`, injected.Add(-cfg.FaultAt-time.Minute)).Scan(&parked, &active)
	row.Failed += parked
	row.Stuck += active
	return row
}

// watchRecovery measures, from the fault, when an order placed after it
// completed (its saga finished) and when the read model showed it final.
func watchRecovery(ctx context.Context, cfg Config, pool *pgxpool.Pool, from time.Time) [2]time.Duration {
	out := [2]time.Duration{-1, -1}
	var orderID string
	var done time.Time
	deadline := time.Now().Add(10 * time.Minute)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		err := pool.QueryRow(ctx, `SELECT order_id, updated_at FROM sagas.order_sagas
			WHERE started_at > $1 AND phase = 'DONE' ORDER BY updated_at LIMIT 1`, from).Scan(&orderID, &done)
		if err == nil {
			out[0] = done.Sub(from)
			break
		}
		pause.For(ctx, 250*time.Millisecond)
	}
	if orderID == "" {
		return out
	}
	token, err := auth.Issue([]byte(cfg.Bench.JWTSecret), "drill", time.Hour, auth.RoleAdmin)
	if err != nil {
		return out
	}
	client := bench.NewClient(cfg.Bench.URL, 5*time.Second)
	defer client.Close()
	for ctx.Err() == nil && time.Now().Before(deadline) {
		if o, err := client.OrderStatus(ctx, token, orderID); err == nil && bench.Final(o.Status) {
			out[1] = time.Since(from)
			break
		}
		pause.For(ctx, 250*time.Millisecond)
	}
	return out
}

// WriteTable prints the rows.
func WriteTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tplaced\tfinal\tlost\tdoubled\tstuck\tfailed/parked\tinvariants\trecovered s\tread model s\tserver restart s\tclient errors\tresult")
	for _, r := range rows {
		result := "PASS"
		if !r.OK() {
			result = "FAIL"
		}
		if r.Err != nil {
			result = "ERROR: " + r.Err.Error()
		}
		inv := "pass"
		if !r.Invariants {
			inv = "FAIL"
		}
		restart := "-"
		if r.ServerRestart > 0 {
			restart = seconds(r.ServerRestart)
		}
		var errs []string
		for _, e := range r.ClientErrors {
			errs = append(errs, fmt.Sprintf("%s/%s %d", e.Op, e.Code, e.Count))
		}
		clientErrors := "0"
		if len(errs) > 0 {
			clientErrors = strings.Join(errs, ", ")
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Scenario, r.Placed, r.Final, r.Lost, r.Doubled, r.Stuck, r.Failed, inv,
			seconds(r.Recovered), seconds(r.ReadModel), restart, clientErrors, result)
	}
	return tw.Flush()
}

func seconds(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", d.Seconds())
}
