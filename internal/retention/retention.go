// Package retention prunes what would otherwise grow without bound: the
// replayed and discarded dead letters, the command handlers' inbox rows
// and the saga's processed-event rows older than a window that is longer
// than any redelivery (a message redelivered after its row was pruned
// would be handled again).
//
// Runs in several processes at once are harmless: each deletes in
// batches what is older than its cutoff.
package retention

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderflow/orderflow/internal/deadletter"
)

// Table is a table pruned by age.
type Table struct {
	Pool *pgxpool.Pool
	// Name is schema-qualified, Column the timestamptz compared with the
	// cutoff (a constant of the caller, never input).
	Name, Column string
}

// Config is the job.
type Config struct {
	// Window is how long rows are kept; 0 turns the job off.
	Window time.Duration
	// Interval is how often it runs. Default 1 h.
	Interval time.Duration
	// Batch bounds the rows one statement deletes. Default 5000.
	Batch       int
	Tables      []Table
	DeadLetters *deadletter.Store
	Logger      *slog.Logger
}

// Job prunes old rows.
type Job struct {
	cfg    Config
	pruned *prometheus.CounterVec
}

// New returns the job, its metrics registered with reg (nil: unregistered).
func New(cfg Config, reg prometheus.Registerer) *Job {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Hour
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 5000
	}
	j := &Job{cfg: cfg, pruned: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orderflow_retention_pruned_rows_total",
		Help: "Rows deleted by the retention job, per table.",
	}, []string{"table"})}
	if reg != nil {
		reg.MustRegister(j.pruned)
	}
	return j
}

// Run prunes every Interval until ctx ends (nothing when Window is 0).
func (j *Job) Run(ctx context.Context) error {
	if j.cfg.Window <= 0 {
		return nil
	}
	t := time.NewTicker(j.cfg.Interval)
	defer t.Stop()
	for {
		if _, err := j.Prune(ctx, time.Now().Add(-j.cfg.Window)); err != nil && ctx.Err() == nil {
			j.cfg.Logger.Error("retention run failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Prune deletes what is older than cutoff and returns the rows deleted
// per table.
func (j *Job) Prune(ctx context.Context, cutoff time.Time) (map[string]int64, error) {
	out := map[string]int64{}
	if j.cfg.DeadLetters != nil {
		for {
			n, err := j.cfg.DeadLetters.Prune(ctx, cutoff, j.cfg.Batch)
			if err != nil {
				return out, err
			}
			out["deadletters.messages"] += n
			j.pruned.WithLabelValues("deadletters.messages").Add(float64(n))
			if n < int64(j.cfg.Batch) {
				break
			}
		}
	}
	for _, t := range j.cfg.Tables {
		for {
			tag, err := t.Pool.Exec(ctx, fmt.Sprintf(`DELETE FROM %[1]s WHERE ctid IN (
				SELECT ctid FROM %[1]s WHERE %[2]s < $1 LIMIT $2)`, t.Name, t.Column), cutoff, j.cfg.Batch)
			if err != nil {
				return out, fmt.Errorf("prune %s: %w", t.Name, err)
			}
			n := tag.RowsAffected()
			out[t.Name] += n
			j.pruned.WithLabelValues(t.Name).Add(float64(n))
			if n < int64(j.cfg.Batch) {
				break
			}
		}
	}
	j.cfg.Logger.Info("retention run done", "cutoff", cutoff, "pruned", out)
	return out, nil
}
