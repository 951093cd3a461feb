// Package service wires orderflow together: it opens the connections a
// process needs and builds every component on them. All wiring lives here,
// so the roles in cmd/orderflow stay a few lines each.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/orderflow/orderflow/internal/config"
	"github.com/orderflow/orderflow/internal/elastic"
	"github.com/orderflow/orderflow/internal/kafka"
	"github.com/orderflow/orderflow/internal/postgres"
	"github.com/orderflow/orderflow/internal/server"
)

// Service holds the open connections of one process.
type Service struct {
	Config  config.Config
	Logger  *slog.Logger
	Metrics *prometheus.Registry
	// Pools maps each bounded context to the pool of its database; contexts
	// sharing a database share the pool.
	Pools   map[config.Context]*pgxpool.Pool
	Elastic *elasticsearch.Client

	distinct []*pgxpool.Pool
}

// Open connects to PostgreSQL and Elasticsearch and checks Kafka, failing
// with a message that names the server that is not reachable.
func Open(ctx context.Context, cfg config.Config, logger *slog.Logger) (*Service, error) {
	s := &Service{
		Config:  cfg,
		Logger:  logger,
		Metrics: prometheus.NewRegistry(),
		Pools:   map[config.Context]*pgxpool.Pool{},
	}
	s.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	byURL := map[string]*pgxpool.Pool{}
	for _, c := range config.Contexts() {
		url := cfg.DatabaseURL(c)
		pool, ok := byURL[url]
		if !ok {
			var err error
			pool, err = postgres.Open(ctx, url)
			if err != nil {
				s.Close()
				return nil, fmt.Errorf("open %s database: %w", c, err)
			}
			byURL[url] = pool
			s.distinct = append(s.distinct, pool)
		}
		s.Pools[c] = pool
	}

	if err := kafka.Ping(cfg.KafkaBrokers); err != nil {
		s.Close()
		return nil, err
	}

	es, err := elastic.NewClient(cfg.ElasticsearchURL)
	if err != nil {
		s.Close()
		return nil, err
	}
	if err := elastic.Ping(ctx, es); err != nil {
		s.Close()
		return nil, fmt.Errorf("elasticsearch at %s: %w", cfg.ElasticsearchURL, err)
	}
	s.Elastic = es
	return s, nil
}

// ReadinessChecks are the conditions of /readyz: every server reachable and
// every database migrated.
func (s *Service) ReadinessChecks() []server.Check {
	return []server.Check{
		{Name: "postgres", Run: func(ctx context.Context) error {
			for _, pool := range s.distinct {
				if err := pool.Ping(ctx); err != nil {
					return err
				}
				applied, err := postgres.MigrationsApplied(ctx, pool)
				if err != nil {
					return err
				}
				if !applied {
					return errors.New("migrations pending: run orderflow migrate")
				}
			}
			return nil
		}},
		{Name: "kafka", Run: func(context.Context) error { return kafka.Ping(s.Config.KafkaBrokers) }},
		{Name: "elasticsearch", Run: func(ctx context.Context) error { return elastic.Ping(ctx, s.Elastic) }},
	}
}

// Close releases every connection.
func (s *Service) Close() {
	for _, pool := range s.distinct {
		pool.Close()
	}
}
