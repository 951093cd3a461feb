package main

import (
	"context"
	"log/slog"

	"github.com/orderflow/orderflow/internal/config"
	"github.com/orderflow/orderflow/internal/postgres"
)

func runMigrate(ctx context.Context, cfg config.Config, logger *slog.Logger, _ []string) error {
	// Only PostgreSQL is needed: migrating must not wait for Kafka or Elasticsearch.
	for _, url := range cfg.DatabaseURLs() {
		pool, err := postgres.Open(ctx, url)
		if err != nil {
			return err
		}
		err = postgres.Migrate(ctx, pool, logger)
		pool.Close()
		if err != nil {
			return err
		}
	}
	logger.Info("migrations up to date", "databases", len(cfg.DatabaseURLs()))
	return nil
}
