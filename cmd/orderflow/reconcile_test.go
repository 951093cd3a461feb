package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/internal/config"
	"github.com/orderflow/orderflow/internal/testenv"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/reconcile"
)

// orderflow reconcile against the real servers: the report as JSON and
// as a table, exit status 1 while something needs a person, and the last
// report read back with --last.
func TestReconcileCommand(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	store := eventstore.New(env.Pool, "inventory")
	tx, err := env.Pool.Begin(ctx)
	require.NoError(t, err)
	_, err = store.Append(ctx, tx, "p-1", handlers.ProductStream, 0, eventstore.Metadata{},
		messages.ProductCreated{ProductID: "p-1", SKU: "MUG-1", Name: "Mug", Price: 1250, InitialStock: 5},
		messages.StockReserved{ProductID: "p-1", OrderID: "ghost", Quantity: 2})
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))

	vars := []string{"ORDERFLOW_DEV=true", "ORDERFLOW_POSTGRES_URL=" + env.Config.PostgresURL, "ORDERFLOW_NAMESPACE=" + env.Config.Namespace}
	code, stdout, stderr := runBinary(t, vars, "reconcile", "--json", "--grace", "0s")
	require.Equal(t, 1, code, "something needs a person; stderr:\n%s", stderr)
	require.Contains(t, stderr, "divergences need a person")
	var report reconcile.Report
	require.NoError(t, json.Unmarshal([]byte(stdout), &report), "stdout:\n%s", stdout)
	require.True(t, report.Healing)
	require.Equal(t, 1, report.Checked.Products)
	require.Equal(t, 1, report.Counts[reconcile.ReservationOrphaned])
	require.Equal(t, 2, report.Counts[reconcile.OutboxUnpublished], "no relay runs here")
	require.Equal(t, 1, report.Counts[reconcile.ProductReadModelDiverged], "no projector either")
	require.Equal(t, 1, report.Healed, "the product's document, re-projected")

	code, stdout, stderr = runBinary(t, vars, "reconcile", "--last")
	require.Equal(t, 1, code, "stderr:\n%s", stderr)
	require.Contains(t, stdout, "3 need a person")
	require.Contains(t, stdout, "reservation_orphaned")
	require.Contains(t, stdout, "nothing: no such order")

	code, _, stderr = runBinary(t, vars, "reconcile", "--page-size", "0")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "page size 0")
}

// runBinary runs the orderflow binary with exactly vars and returns its
// exit code, stdout and stderr.
func runBinary(t *testing.T, vars []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append([]string{"ORDERFLOW_HTTP_ADDR=127.0.0.1:0"}, vars...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run %v: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// The workers' reconciliation is configured from internal/config, whose
// defaults must be the reconciler's own: the two packages each state them
// (config cannot import reconcile), and this keeps them from drifting.
func TestWorkersReconcileWithTheReconcilersDefaults(t *testing.T) {
	t.Parallel()
	cfg, rc := config.Default(), reconcile.DefaultConfig()
	require.Equal(t, rc.Interval, cfg.ReconcileInterval)
	require.Equal(t, rc.FullInterval, cfg.ReconcileFullInterval)
	require.Equal(t, rc.PageRest, cfg.ReconcilePageRest)
}
