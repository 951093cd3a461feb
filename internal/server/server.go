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
	"sync"
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
type Server struct {
	mux    *http.ServeMux
	http   *http.Server
	logger *slog.Logger
	checks []Check
}

// New returns a server for addr. Metrics come from reg, so tests can use a
// registry of their own.
func New(addr string, reg prometheus.Gatherer, logger *slog.Logger, checks ...Check) *Server {
	s := &Server{mux: http.NewServeMux(), logger: logger, checks: checks}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.ready)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// Profiles for operators and the benchmark: go tool pprof host/debug/pprof/profile.
	s.mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	s.mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	s.mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	s.mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	s.mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	s.http = &http.Server{
		Addr:              addr,
		Handler:           traced(s.mux),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	return s
}

// Handle mounts a role's handler, e.g. "/graphql".
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Handler is the whole mux, for in-process tests.
func (s *Server) Handler() http.Handler { return traced(s.mux) }

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
	shutdownCtx, cancel := context.WithTimeout(context.Background(), timeout)
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
// console's health page show the same answer.
func (s *Server) Readiness(ctx context.Context) (map[string]string, bool) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	results := make(map[string]string, len(s.checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	ok := true
	for _, c := range s.checks {
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
