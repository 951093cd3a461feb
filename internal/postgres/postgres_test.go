package postgres_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/postgres"
	"github.com/orderflow/orderflow/internal/testenv"
)

// The test database is a real PostgreSQL: it has the migrated schemas, the
// transaction-id functions the outbox relay relies on, and re-running the
// migrations is a no-op.
func TestMigratedDatabaseOnRealPostgres(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()

	applied, err := postgres.MigrationsApplied(ctx, env.Pool)
	require.NoError(t, err)
	require.True(t, applied)
	require.NoError(t, postgres.Migrate(ctx, env.Pool, slog.New(slog.DiscardHandler)))

	for _, schema := range []string{"ordering", "inventory", "payments"} {
		var n int
		require.NoError(t, env.Pool.QueryRow(ctx,
			`SELECT count(*) FROM information_schema.tables WHERE table_schema = $1`, schema).Scan(&n))
		require.GreaterOrEqualf(t, n, 3, "schema %s has its event store tables (events, inbox, relay checkpoints)", schema)
	}

	var version string
	var xact, xmin uint64
	require.NoError(t, env.Pool.QueryRow(ctx,
		`SELECT current_setting('server_version'), pg_current_xact_id()::text::bigint, pg_snapshot_xmin(pg_current_snapshot())::text::bigint`).
		Scan(&version, &xact, &xmin))
	require.NotEmpty(t, version)
	require.LessOrEqual(t, xmin, xact)
}
