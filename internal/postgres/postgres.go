// Package postgres opens connection pools and applies the embedded
// migrations. It is the only place that knows how orderflow talks to
// PostgreSQL at the connection level; the event store, saga store and
// dead-letter store build on the pools it returns.
package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/orderflow/orderflow/migrations"
)

// DefaultMaxConns is the pool size when the URL sets no pool_max_conns.
// pgxpool's own default, max(4, CPUs), starves a process that runs the
// saga (up to 8 orders' transactions at once per batch), the command
// handlers' batches and the API's commands on one pool: on a 2-core
// machine the API's commands queue for one of 4 connections behind the
// background work. Connections are opened on demand, so an idle pool
// holds few.
const DefaultMaxConns = 32

// Open connects a pool and pings it, so a wrong URL fails at start-up with a
// message that names PostgreSQL rather than at the first command. A
// pool_max_conns in url wins over DefaultMaxConns.
func Open(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse postgres url: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres at %s:%d is not reachable: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	return pool, nil
}

// Migrate applies every pending migration. A session advisory lock makes
// concurrent callers (several processes starting at once) wait for each
// other instead of racing.
func Migrate(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	return withProvider(pool, func(p *goose.Provider) error {
		results, err := p.Up(ctx)
		if err != nil {
			return fmt.Errorf("apply migrations: %w", err)
		}
		for _, r := range results {
			logger.Info("migration applied", "version", r.Source.Version, "path", r.Source.Path, "duration", r.Duration)
		}
		return nil
	})
}

// MigrationsApplied reports whether the database is at the newest version,
// for readiness checks.
func MigrationsApplied(ctx context.Context, pool *pgxpool.Pool) (bool, error) {
	var applied bool
	err := withProvider(pool, func(p *goose.Provider) error {
		current, target, err := p.GetVersions(ctx)
		if err != nil {
			return fmt.Errorf("read migration versions: %w", err)
		}
		applied = current == target
		return nil
	})
	return applied, err
}

func withProvider(pool *pgxpool.Pool, fn func(*goose.Provider) error) error {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("create migration lock: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	defer func(db *sql.DB) { _ = db.Close() }(db)
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	return fn(p)
}
