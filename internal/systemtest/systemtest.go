// Package systemtest runs a whole orderflow inside a test: relays, the
// worker (command handlers and saga), the projector and, on request, the
// HTTP API, on the test's own slice of the real servers (internal/testenv).
// End-to-end tests of every package start from here instead of wiring the
// processes themselves.
package systemtest

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/server"
	"github.com/orderflow/orderflow/internal/testenv"
	"github.com/orderflow/orderflow/projections"
	"github.com/orderflow/orderflow/reconcile"
	"github.com/orderflow/orderflow/sagas"
)

// Admin is the principal tests act as for admin operations.
var Admin = auth.Principal{Subject: "ops", Roles: []auth.Role{auth.RoleAdmin}}

// Options choose what runs.
type Options struct {
	// Service tunes the components of the system's process (a faulty
	// payment provider, saga timings, consumer middleware); processes the
	// test opens later (System.Open) take their own.
	Service []service.Option
	// NoWorker leaves the worker to the test (StartWorker).
	NoWorker bool
	// NoSaga runs the command handlers without the order saga's event
	// handlers and deadlines, so placed orders stay PENDING: for tests of
	// the API rather than of the flow. (A placement still starts its saga,
	// which sends ReserveStock: the stock is reserved.)
	NoSaga bool
	// NoProjector runs no projector: queries then see no read models.
	NoProjector bool
	// API serves GraphQL and REST on an httptest server (System.URL).
	API bool
	// RetryLevels, when set, replaces the parked messages' retry delays
	// (ORDERFLOW_RETRY_LEVELS) of every process of the test.
	RetryLevels []time.Duration
}

// System is one running orderflow.
type System struct {
	T   *testing.T
	Env *testenv.Env
	// Service is the process running what Options chose.
	Service *Process
	// App is the application of Service; with Options.API, it serves
	// live subscriptions from Feed.
	App  app.Application
	Feed *service.ChangeFeed
	// URL is the API's base URL (with Options.API), e.g. URL+"/graphql".
	URL string
}

// Process stands for one orderflow process: its service and the
// components its roles share, a projector and an order saga (as
// cmd/orderflow's roles share them).
type Process struct {
	*service.Service
	Sagas     *sagas.Processor
	Projector *projections.Projector
}

// Application is the process's application, without a change feed.
func (p *Process) Application() app.Application {
	return p.Service.Application(p.Sagas, p.Projector, nil)
}

// ReadModels are the read models of Application.
func (p *Process) ReadModels() app.ReadModels { return p.Service.ReadModels(p.Projector, nil) }

// Reconciler is the process's reconciliation job.
func (p *Process) Reconciler(cfg reconcile.Config) (*reconcile.Reconciler, error) {
	return p.Service.Reconciler(cfg, p.Projector, p.Sagas)
}

// Start runs an orderflow for t and stops it when t ends.
func Start(t *testing.T, opts Options) *System {
	t.Helper()
	s := &System{T: t, Env: testenv.New(t)}
	if len(opts.RetryLevels) > 0 {
		s.Env.Config.RetryLevels = opts.RetryLevels
	}
	s.Service = s.Open(opts.Service...)
	s.StartRelays(s.Service)
	switch {
	case opts.NoWorker:
	case opts.NoSaga:
		s.startCommandHandlers(s.Service)
	default:
		s.StartWorker(s.Service)
	}
	if !opts.NoProjector {
		s.StartProjector(s.Service)
	}
	if opts.API {
		feed, err := s.Service.OpenChangeFeed()
		require.NoError(t, err)
		Run(t, feed.Router.Run)
		<-feed.Router.Running()
		s.Feed = feed
	}
	s.App = s.Service.Service.Application(s.Service.Sagas, s.Service.Projector, s.Feed)
	if opts.API {
		srv := server.New("127.0.0.1:0", prometheus.NewRegistry(), s.Env.Logger, s.Service.ReadinessChecks()...)
		require.NoError(t, s.Service.MountAPI(srv, s.App))
		ts := httptest.NewServer(srv.Handler())
		t.Cleanup(ts.Close) // registered last, so it closes before the loops stop
		s.URL = ts.URL
	}
	return s
}

// Open opens a process: its own connections and caches on the test's
// servers, its components tuned by opts, closed when the test ends.
func (s *System) Open(opts ...service.Option) *Process {
	s.T.Helper()
	svc, err := service.Open(context.Background(), s.Env.Config, s.Env.Logger, opts...)
	require.NoError(s.T, err)
	s.T.Cleanup(svc.Close)
	p := &Process{Service: svc}
	p.Projector, err = svc.NewProjector()
	require.NoError(s.T, err)
	p.Sagas, err = svc.OpenSagas()
	require.NoError(s.T, err)
	return p
}

// StartRelays runs the outbox relays of svc.
func (s *System) StartRelays(svc *Process) (stop func()) {
	s.T.Helper()
	relays, err := svc.Relays()
	require.NoError(s.T, err)
	var loops []func(context.Context) error
	for _, r := range relays {
		loops = append(loops, r.Run)
	}
	return Run(s.T, loops...)
}

// StartWorker runs the command handlers, the saga and its deadlines of svc
// until the returned stop is called (or the test ends).
func (s *System) StartWorker(svc *Process) (stop func()) {
	s.T.Helper()
	commands, err := svc.CommandProcessor()
	require.NoError(s.T, err)
	sagaEvents, err := svc.SagaConsumer(svc.Sagas)
	require.NoError(s.T, err)
	stop = Run(s.T, commands.Run, sagaEvents.Run, svc.Sagas.RunDeadlines)
	for _, running := range []<-chan struct{}{commands.Running(), sagaEvents.Running()} {
		select {
		case <-running:
		case <-time.After(time.Minute):
			s.T.Fatal("worker did not start")
		}
	}
	return stop
}

func (s *System) startCommandHandlers(svc *Process) {
	s.T.Helper()
	commands, err := svc.CommandProcessor()
	require.NoError(s.T, err)
	Run(s.T, commands.Run)
	select {
	case <-commands.Running():
	case <-time.After(time.Minute):
		s.T.Fatal("command handlers did not start")
	}
}

// StartProjector runs the Elasticsearch projector of svc.
func (s *System) StartProjector(svc *Process) (stop func()) {
	s.T.Helper()
	consumer, err := svc.ProjectorConsumer(context.Background(), svc.Projector)
	require.NoError(s.T, err)
	stop = Run(s.T, consumer.Run)
	select {
	case <-consumer.Running():
	case <-time.After(time.Minute):
		s.T.Fatal("projector did not start")
	}
	return stop
}

// Run starts loops; the returned func (also run at cleanup) stops them and
// waits until they returned. A loop failing while it should run fails t.
func Run(t *testing.T, loops ...func(context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, l := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l(ctx); err != nil && ctx.Err() == nil {
				t.Errorf("loop failed: %v", err)
			}
		}()
	}
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}
