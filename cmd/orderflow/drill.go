package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/orderflow/orderflow/bench"
	"github.com/orderflow/orderflow/internal/config"
	"github.com/orderflow/orderflow/internal/drill"
)

// drillCommand runs crash drills against deploy/local/cluster (see
// internal/drill and docs/resilience.md).
func drillCommand() command {
	cfg := drill.Config{Cluster: "deploy/local/cluster", Deps: "deploy/local/deps", FaultAt: 25 * time.Second, Down: 15 * time.Second}
	b := bench.DefaultConfig()
	b.Rate, b.Duration, b.Products, b.Customers, b.IdempotencySample, b.SettleTimeout = 12, 60*time.Second, 20, 100, 20, 8*time.Minute
	b.URL = "http://127.0.0.1:8080/graphql"
	var scenarios string
	return command{
		name:   "drill",
		tokens: true,
		usage:  "crash drills against deploy/local/cluster under bench load; prints one row per scenario (never against shared servers)",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&cfg.Cluster, "cluster", cfg.Cluster, "the cluster script")
			fs.StringVar(&cfg.Deps, "deps", cfg.Deps, "the servers' script")
			fs.DurationVar(&cfg.FaultAt, "fault-at", cfg.FaultAt, "when the fault is injected, counted from the bench's start")
			fs.DurationVar(&cfg.Down, "down", cfg.Down, "how long a killed process stays down")
			fs.StringVar(&scenarios, "scenarios", "", "comma-separated scenario names or parts of them (all when empty): "+scenarioNames())
			fs.StringVar(&b.URL, "url", b.URL, "GraphQL endpoint of the cluster's balancer")
			fs.Float64Var(&b.Rate, "rate", b.Rate, "orders per second (open model)")
			fs.DurationVar(&b.Duration, "duration", b.Duration, "load per scenario")
			fs.DurationVar(&b.SettleTimeout, "settle-timeout", b.SettleTimeout, "wait for every order to end after the load")
		},
		run: func(ctx context.Context, c config.Config, logger *slog.Logger, _ []string) error {
			b.JWTSecret = c.JWTSecret
			if c.Dev && b.JWTSecret == "" {
				b.JWTSecret = config.DefaultJWTSecret
			}
			cfg.Bench, cfg.PostgresURL = b, c.PostgresURL
			if scenarios != "" {
				cfg.Scenarios = strings.Split(scenarios, ",")
			}
			rows, err := drill.Run(ctx, cfg, os.Stderr, logger)
			if err != nil {
				return err
			}
			if err := drill.WriteTable(os.Stdout, rows); err != nil {
				return err
			}
			for _, r := range rows {
				if !r.OK() {
					return fmt.Errorf("drill %q failed", r.Scenario)
				}
			}
			return nil
		},
	}
}

func scenarioNames() string {
	var names []string
	for _, s := range drill.Scenarios(0) {
		names = append(names, s.Name)
	}
	return strings.Join(names, "; ")
}
