package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/internal/config"
	"github.com/orderflow/orderflow/internal/server"
	"github.com/orderflow/orderflow/projections"
	"github.com/orderflow/orderflow/reconcile"
	"github.com/orderflow/orderflow/sagas"
)

// role is one role of a process.
type role struct {
	// needs says which of the components its process shares between its
	// roles this one uses; they are built once, before any role starts.
	needs needs
	// start mounts its handlers on the shared HTTP server and returns the
	// background loop it runs until ctx ends (nil if it has none).
	start func(svc *service.Service, sh shared, srv *server.Server) (func(ctx context.Context) error, error)
}

// needs names the shared components a role uses.
type needs struct{ projector, saga bool }

// shared are the components the roles of one process share: one
// projector (its document caches must see every write of the process)
// and one order saga (the API starts sagas, the worker drives them, and
// the process waits for the commands it sends in the background). Nil when
// no role of the process needs them.
type shared struct {
	projector *projections.Projector
	saga      *sagas.Processor
}

// openShared builds the shared components want names.
func openShared(svc *service.Service, want needs) (shared, error) {
	var sh shared
	var err error
	if want.projector {
		if sh.projector, err = svc.NewProjector(); err != nil {
			return shared{}, err
		}
	}
	if want.saga {
		if sh.saga, err = svc.OpenSagas(); err != nil {
			return shared{}, err
		}
	}
	return sh, nil
}

// openApplication returns the application the command-line tools answer
// from: over a projector and an order saga of their own, without a change
// feed.
func openApplication(svc *service.Service) (app.Application, error) {
	sh, err := openShared(svc, needs{projector: true, saga: true})
	if err != nil {
		return app.Application{}, err
	}
	return svc.Application(sh.saga, sh.projector, nil), nil
}

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
		var want needs
		for _, r := range roles {
			want.projector = want.projector || r.needs.projector
			want.saga = want.saga || r.needs.saga
		}
		sh, err := openShared(svc, want)
		if err != nil {
			return err
		}
		for _, r := range roles {
			loop, err := r.start(svc, sh, srv)
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
var roleAPI = role{needs: needs{projector: true, saga: true}, start: startAPI}

func startAPI(svc *service.Service, sh shared, srv *server.Server) (func(context.Context) error, error) {
	feed, err := svc.OpenChangeFeed()
	if err != nil {
		return nil, err
	}
	drain := func(ctx context.Context) error {
		<-ctx.Done()
		sh.saga.Drain()
		return nil
	}
	return all(feed.Router.Run, drain), svc.MountAPI(srv, svc.Application(sh.saga, sh.projector, feed))
}

// roleWorker handles the commands of every context, runs the order saga
// and, one worker at a time, the periodic reconciliation; it reports the
// dead-letter gauges and prunes old rows (ORDERFLOW_RETENTION).
var roleWorker = role{needs: needs{projector: true, saga: true}, start: startWorker}

func startWorker(svc *service.Service, sh shared, _ *server.Server) (func(context.Context) error, error) {
	commands, err := svc.CommandProcessor()
	if err != nil {
		return nil, err
	}
	sagaEvents, err := svc.SagaConsumer(sh.saga)
	if err != nil {
		return nil, err
	}
	rc := reconcile.DefaultConfig()
	rc.Interval = svc.Config.ReconcileInterval
	rc.FullInterval = svc.Config.ReconcileFullInterval
	rc.PageRest = svc.Config.ReconcilePageRest
	rec, err := svc.Reconciler(rc, sh.projector, sh.saga)
	if err != nil {
		return nil, err
	}
	return all(commands.Run, sagaEvents.Run, sh.saga.RunDeadlines, rec.RunPeriodically,
		svc.DeadLetterMonitor(), svc.RetentionJob().Run), nil
}

// roleRelay publishes each context's committed events to its topic.
var roleRelay = role{start: startRelay}

func startRelay(svc *service.Service, _ shared, _ *server.Server) (func(context.Context) error, error) {
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
var roleProjector = role{needs: needs{projector: true}, start: startProjector}

func startProjector(svc *service.Service, sh shared, _ *server.Server) (func(context.Context) error, error) {
	consumer, err := svc.ProjectorConsumer(context.Background(), sh.projector)
	if err != nil {
		return nil, err
	}
	return consumer.Run, nil
}
