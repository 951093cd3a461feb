package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/orderflow/orderflow/bench"
	"github.com/orderflow/orderflow/internal/config"
)

// benchCommand is `orderflow bench`: the load and consistency benchmark
// against a running orderflow (see package bench), or, with --compare, a
// side-by-side view of two result files.
func benchCommand() command {
	cfg := bench.DefaultConfig()
	cfg.Rate = 0
	var (
		mix     = bench.DefaultMix
		out     string
		compare bool
	)
	return command{
		name:   "bench",
		tokens: true,
		usage:  "load and consistency benchmark against a running orderflow (--compare a.json b.json compares results)",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&cfg.URL, "url", cfg.URL, "GraphQL endpoint of the running orderflow")
			fs.Float64Var(&cfg.Rate, "rate", 0, "open model: orders per second, sent on schedule whatever the answers (default 50 when --concurrency is not given)")
			fs.IntVar(&cfg.Concurrency, "concurrency", 0, "closed model: workers, each placing its next order when the previous was answered")
			fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "measured load duration")
			fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "load before the measured duration (checked, not measured)")
			fs.StringVar(&mix, "mix", mix, "scenario weights: normal, out-of-stock, insufficient-funds, cancel, multi-line")
			fs.IntVar(&cfg.MaxInFlight, "max-inflight", cfg.MaxInFlight, "open model: unanswered placements beyond which arrivals are dropped (CLIENT_OVERLOAD)")
			fs.IntVar(&cfg.Products, "products", cfg.Products, "products to create")
			fs.IntVar(&cfg.Customers, "customers", cfg.Customers, "funded customers to register")
			fs.IntVar(&cfg.Stock, "stock", cfg.Stock, "initial stock of each product")
			fs.StringVar(&cfg.Credit, "credit", cfg.Credit, "initial credit of each funded customer")
			fs.StringVar(&cfg.Price, "price", cfg.Price, "price of each product")
			fs.IntVar(&cfg.ScarceStock, "scarce-stock", cfg.ScarceStock, "units of the product the out-of-stock orders buy")
			fs.IntVar(&cfg.PoorCustomers, "poor-customers", cfg.PoorCustomers, "customers without credit, for the insufficient-funds orders")
			fs.StringVar(&cfg.E2E, "e2e", cfg.E2E, "how final statuses are observed: poll or subscription")
			fs.DurationVar(&cfg.PollInterval, "poll-interval", cfg.PollInterval, "shortest interval between polls of one order (e2e=poll); it grows to a tenth of the order's age")
			fs.IntVar(&cfg.PollConcurrency, "poll-concurrency", cfg.PollConcurrency, "poll requests in flight at most, whatever the number of open orders")
			fs.IntVar(&cfg.WSConnections, "ws-connections", cfg.WSConnections, "websocket connections the subscriptions share (e2e=subscription)")
			fs.DurationVar(&cfg.SettleTimeout, "settle-timeout", cfg.SettleTimeout, "how long to wait after the load for every order to end")
			fs.DurationVar(&cfg.RequestTimeout, "request-timeout", cfg.RequestTimeout, "timeout of each HTTP request")
			fs.IntVar(&cfg.CheckConcurrency, "check-concurrency", cfg.CheckConcurrency, "parallel requests of set-up and the invariant checks")
			fs.DurationVar(&cfg.ResendFor, "resend-for", cfg.ResendFor, "how long a placement without a definite answer keeps being re-sent with its idempotency key after the load")
			fs.BoolVar(&cfg.AllowSystemFailures, "allow-system-failures", false, "count orders FAILED with SAGA_TIMEOUT or COMPENSATION_FAILED as outcomes, not as failures of the run (for runs injecting such faults)")
			fs.IntVar(&cfg.IdempotencySample, "idempotency-sample", cfg.IdempotencySample, "settled orders re-sent with their key to check idempotency")
			fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the choice of customers, products and quantities")
			fs.StringVar(&cfg.Label, "label", "", "free note stored in the results, e.g. the server's fault-injection settings")
			fs.StringVar(&out, "out", "", "write the results as JSON to this file")
			fs.BoolVar(&compare, "compare", false, "print two result files side by side: bench --compare a.json b.json")
		},
		run: func(ctx context.Context, global config.Config, logger *slog.Logger, args []string) error {
			if compare {
				return compareResults(args)
			}
			if len(args) > 0 {
				return fmt.Errorf("unexpected arguments %q (result files are only read with --compare)", args)
			}
			m, err := bench.ParseMix(mix)
			if err != nil {
				return err
			}
			cfg.Mix = m
			cfg.JWTSecret = global.JWTSecret
			if cfg.Rate == 0 && cfg.Concurrency == 0 {
				cfg.Rate = 50
			}
			res, err := bench.Run(ctx, cfg, os.Stderr, logger)
			if err != nil {
				return err
			}
			if out != "" {
				if err := bench.WriteJSON(out, res); err != nil {
					return err
				}
			}
			if err := res.WriteTable(os.Stdout); err != nil {
				return err
			}
			if !res.Passed {
				return errors.New("invariants violated")
			}
			return nil
		},
	}
}

func compareResults(files []string) error {
	if len(files) != 2 {
		return fmt.Errorf("--compare needs two result files, got %d", len(files))
	}
	a, err := bench.ReadJSON(files[0])
	if err != nil {
		return err
	}
	b, err := bench.ReadJSON(files[1])
	if err != nil {
		return err
	}
	return bench.Compare(os.Stdout, strings.TrimSuffix(files[0], ".json"), a, strings.TrimSuffix(files[1], ".json"), b)
}
