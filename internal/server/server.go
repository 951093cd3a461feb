// Package server is the HTTP front door every serving role shares: health
// and readiness probes, Prometheus metrics, and whatever handlers the role
// mounts (GraphQL, REST, GraphiQL).
package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/propagation"

	"github.com/orderflow/orderflow/internal/tracing"
)

// Check is one readiness condition, e.g. "postgres reachable".
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// Server is an http.Server with the probes every role exposes.
//
// It can serve before its process is ready (SetStarting: /healthz answers,
// /readyz fails with the reason) and it stops gracefully (Run): /readyz
// fails first while requests are still served (DrainDelay), then it stops
// accepting, closes the subscriptions' websockets (a close frame, so
// clients reconnect to another replica) and waits for in-flight requests.
type Server struct {
	mux    *http.ServeMux
	http   *http.Server
	logger *slog.Logger

	mu       sync.RWMutex
	checks   []Check
	starting string
	draining atomic.Bool

	// streams ends the long-lived requests (websockets) when the server
	// drains; http.Server.Shutdown does not wait for hijacked connections.
	streams      context.Context
	closeStreams context.CancelFunc

	// DrainDelay is how long Run keeps serving with /readyz failing once
	// its context ends, before it stops accepting (at most half the
	// shutdown timeout).
	DrainDelay time.Duration
}

// New returns a server for addr. Metrics come from reg, so tests can use a
// registry of their own; a nil reg mounts none (see MountMetrics).
func New(addr string, reg prometheus.Gatherer, logger *slog.Logger, checks ...Check) *Server {
	s := &Server{mux: http.NewServeMux(), logger: logger, checks: checks}
	s.streams, s.closeStreams = context.WithCancel(context.Background())
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.ready)
	if reg != nil {
		s.MountMetrics(reg)
	}
	// Profiles for operators and the benchmark: go tool pprof host/debug/pprof/profile.
	s.mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	s.mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	s.mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	s.mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	s.mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	s.http = &http.Server{
		Addr:              addr,
		Handler:           traced(http.HandlerFunc(s.serve)),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	return s
}

// MountMetrics serves reg at /metrics, once.
func (s *Server) MountMetrics(reg prometheus.Gatherer) {
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
}

// SetStarting makes /readyz fail with reason while the process waits for
// what it needs (a server down at start); "" ends the wait.
func (s *Server) SetStarting(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starting = reason
}

// SetChecks replaces the readiness conditions (known once the process
// connected).
func (s *Server) SetChecks(checks ...Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks = checks
}

// Handle mounts a role's handler, e.g. "/graphql". Mounting while serving
// is safe.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Handler is the whole server's handler, for in-process tests.
func (s *Server) Handler() http.Handler { return traced(http.HandlerFunc(s.serve)) }

// traced starts a span per request (GraphQL, REST) when tracing is on, in
// the trace of the caller's traceparent header if it sent one: an order's
// trace begins at the request that placed it. Probes and metrics scrapes
// are not traced.
func traced(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !tracing.Enabled() {
			next.ServeHTTP(w, r)
			return
		}
		switch r.URL.Path {
		case "/metrics", "/healthz", "/readyz":
			next.ServeHTTP(w, r)
			return
		}
		ctx, span := tracing.StartHTTP(r.Context(), propagation.HeaderCarrier(r.Header), r.Method+" "+r.URL.Path)
		defer span.End()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// serve gives a websocket request a context that also ends when the
// server drains: its handler (gqlgen's) then closes the socket with a
// close frame instead of leaving it to die with the process.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		stop := context.AfterFunc(s.streams, cancel)
		defer stop()
		r = r.WithContext(ctx)
	}
	s.mux.ServeHTTP(w, r)
}

// Run serves until ctx ends, then shuts down gracefully within timeout.
func (s *Server) Run(ctx context.Context, timeout time.Duration) error {
	ln, err := net.Listen("tcp", s.http.Addr)
	if err != nil {
		return err
	}
	s.logger.Info("http server listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Not ready any more, still serving: balancers take it out of their
	// rotation meanwhile, so no new request finds the port closed.
	s.draining.Store(true)
	delay := min(s.DrainDelay, timeout/2)
	s.logger.Info("http server draining", "delay", delay)
	time.Sleep(delay)
	s.closeStreams()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), timeout-delay)
	defer cancel()
	if err := s.http.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ready answers 200 only if every check passes, 503 naming the failures
// otherwise, so an operator sees at once which dependency is down.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	results, ok := s.Readiness(r.Context())
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
		s.logger.Warn("readiness check failed", "checks", results)
	}
	writeJSON(w, code, results)
}

// Readiness runs every check concurrently (within 5 s) and returns each
// check's state, "ok" or why not, and whether all passed: /readyz and the
// console's health page show the same answer. A process that is stopping
// or still waiting for its servers is not ready, whatever the checks say.
func (s *Server) Readiness(ctx context.Context) (map[string]string, bool) {
	if s.draining.Load() {
		return map[string]string{"status": "draining: the process is stopping"}, false
	}
	s.mu.RLock()
	starting, checks := s.starting, s.checks
	s.mu.RUnlock()
	if starting != "" {
		return map[string]string{"status": "starting: " + starting}, false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	results := make(map[string]string, len(checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	ok := true
	for _, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status := "ok"
			if err := c.Run(ctx); err != nil {
				status = err.Error()
			}
			mu.Lock()
			defer mu.Unlock()
			results[c.Name] = status
			ok = ok && status == "ok"
		}()
	}
	wg.Wait()
	return results, ok
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
