package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/internal/config"
	"github.com/orderflow/orderflow/internal/server"
	"github.com/orderflow/orderflow/reconcile"
)

// role mounts its handlers on the shared HTTP server and returns the
// background loop it runs until ctx ends (nil if it has none).
type role func(svc *service.Service, srv *server.Server) (func(ctx context.Context) error, error)

// runRoles runs the given roles in one process behind one HTTP server.
//
// The server answers at once: /healthz ok, /readyz failing until the
// process is connected. A server (PostgreSQL, Kafka, Elasticsearch) that
// is down at start is waited for, with the reason in /readyz, instead of
// the process exiting. On SIGTERM the server drains (see server.Run)
// while the loops stop.
func runRoles(roles ...role) func(ctx context.Context, cfg config.Config, logger *slog.Logger, _ []string) error {
	return func(ctx context.Context, cfg config.Config, logger *slog.Logger, _ []string) error {
		srv := server.New(cfg.HTTPAddr, nil, logger)
		srv.DrainDelay = cfg.DrainDelay
		srv.SetStarting("connecting to PostgreSQL, Kafka and Elasticsearch")

		g, ctx := errgroup.WithContext(ctx)
		g.Go(func() error { return srv.Run(ctx, cfg.ShutdownTimeout) })
		svc, err := openWaiting(ctx, cfg, logger, srv)
		if err != nil {
			if werr := g.Wait(); werr != nil && !errors.Is(werr, context.Canceled) {
				return werr
			}
			return nil // stopped while waiting
		}
		defer svc.Close()
		for _, r := range roles {
			loop, err := r(svc, srv)
			if err != nil {
				return err
			}
			if loop != nil {
				g.Go(func() error { return loop(ctx) })
			}
		}
		srv.MountMetrics(svc.Metrics)
		srv.SetChecks(svc.ReadinessChecks()...)
		srv.SetStarting("")
		logger.Info("roles started")
		err = g.Wait()
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
}

// maxStartWait caps the wait between two attempts to connect at start.
const maxStartWait = 5 * time.Second

// openWaiting connects to the servers, trying again until they answer or
// ctx ends; meanwhile /readyz says what is missing.
func openWaiting(ctx context.Context, cfg config.Config, logger *slog.Logger, srv *server.Server) (*service.Service, error) {
	wait := 250 * time.Millisecond
	for {
		svc, err := service.Open(ctx, cfg, logger)
		if err == nil {
			return svc, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		logger.Warn("servers not reachable, waiting for them", "retry_in", wait, "error", err)
		srv.SetStarting(err.Error())
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, maxStartWait)
	}
}

// roleAPI serves GraphQL at /graphql (GraphiQL at /), REST under /api/ and
// the operator console under /console/, and follows the order change feed
// for live subscriptions. Placing an order starts its saga here, whose
// first commands are sent in the background: they are finished before the
// process stops.
func roleAPI(svc *service.Service, srv *server.Server) (func(context.Context) error, error) {
	changes, err := svc.OrderChangeRouter()
	if err != nil {
		return nil, err
	}
	saga, err := svc.Sagas()
	if err != nil {
		return nil, err
	}
	drain := func(ctx context.Context) error {
		<-ctx.Done()
		saga.Drain()
		return nil
	}
	return all(changes.Run, drain), svc.MountAPI(srv)
}

// roleWorker handles the commands of every context, runs the order saga
// and, one worker at a time, the periodic reconciliation; it reports the
// dead-letter gauges and prunes old rows (ORDERFLOW_RETENTION).
func roleWorker(svc *service.Service, _ *server.Server) (func(context.Context) error, error) {
	commands, err := svc.CommandProcessor()
	if err != nil {
		return nil, err
	}
	sagaEvents, err := svc.SagaConsumer()
	if err != nil {
		return nil, err
	}
	saga, err := svc.Sagas()
	if err != nil {
		return nil, err
	}
	rc := reconcile.DefaultConfig()
	rc.Interval = svc.Config.ReconcileInterval
	rec, err := svc.Reconciler(rc)
	if err != nil {
		return nil, err
	}
	return all(commands.Run, sagaEvents.Run, saga.RunDeadlines, rec.RunPeriodically,
		svc.DeadLetterMonitor(), svc.RetentionJob().Run), nil
}

// roleRelay publishes each context's committed events to its topic.
func roleRelay(svc *service.Service, _ *server.Server) (func(context.Context) error, error) {
	relays, err := svc.Relays()
	if err != nil {
		return nil, err
	}
	var loops []func(context.Context) error
	for _, r := range relays {
		loops = append(loops, r.Run)
	}
	return all(loops...), nil
}

// all runs loops together until ctx ends or one fails.
func all(loops ...func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		g, ctx := errgroup.WithContext(ctx)
		for _, l := range loops {
			g.Go(func() error { return l(ctx) })
		}
		return g.Wait()
	}
}

// roleProjector keeps the Elasticsearch read models up to date.
func roleProjector(svc *service.Service, _ *server.Server) (func(context.Context) error, error) {
	consumer, err := svc.ProjectorConsumer(context.Background())
	if err != nil {
		return nil, err
	}
	return consumer.Run, nil
}
