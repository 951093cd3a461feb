// Package rest is the REST port: a small JSON API over the same application
// seam as GraphQL, for clients that only need to place orders and follow
// them.
//
//	POST /api/v1/orders              place an order (Idempotency-Key header or idempotency_key)
//	GET  /api/v1/orders/{id}         the order
//	GET  /api/v1/orders/{id}/status  where its saga stands
//	GET  /api/v1/openapi.json        the OpenAPI 3.1 description of all of it
//
// Requests authenticate with "Authorization: Bearer <jwt>" like GraphQL.
// Every error is {"error": {"code", "message", "details", "timestamp",
// "request_id"}} with the HTTP status of its code (see statusOf). The
// OpenAPI document (openapi.json, kept next to this code) describes every
// answer; the tests validate every answer they get against it.
package rest

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/requestid"
)

// Limits of every REST request.
const (
	// MaxBodyBytes bounds request bodies; larger ones get 413.
	MaxBodyBytes = 1 << 20
	// RequestTimeout bounds each request.
	RequestTimeout = 30 * time.Second
	// RequestIDHeader names the response header carrying the request id,
	// the same id as request_id in error bodies and in the logs.
	RequestIDHeader = requestid.Header
)

type server struct {
	app    app.Application
	logger *slog.Logger
}

// NewHandler serves the REST API under /api/v1/; mount it at "/api/".
// secret verifies bearer tokens (empty accepts none); logger receives the
// internal errors clients only see as "internal error" (nil discards them).
func NewHandler(application app.Application, secret []byte, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &server{app: application, logger: logger}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/orders", s.placeOrder)
	mux.HandleFunc("GET /api/v1/orders/{id}", s.order)
	mux.HandleFunc("GET /api/v1/orders/{id}/status", s.orderStatus)
	mux.HandleFunc("GET /api/v1/openapi.json", serveOpenAPI)
	// The method-less patterns are less specific than the ones above, so
	// they only catch other methods on known paths, and "/api/" whatever
	// else: both answer in the API's error shape instead of plain text.
	mux.Handle("/api/v1/orders", s.methodNotAllowed(http.MethodPost))
	mux.Handle("/api/v1/orders/{id}", s.methodNotAllowed(http.MethodGet))
	mux.Handle("/api/v1/orders/{id}/status", s.methodNotAllowed(http.MethodGet))
	mux.Handle("/api/v1/openapi.json", s.methodNotAllowed(http.MethodGet))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errcode.New(errcode.NotFound, "no such endpoint: %s", r.URL.Path))
	})

	var h http.Handler = mux
	h = s.recoverPanics(h)
	h = withTimeout(h)
	h = auth.Middleware(secret)(h)
	return requestid.Middleware(h)
}

func requestID(ctx context.Context) string { return requestid.From(ctx) }

func withTimeout(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), RequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// recoverPanics turns a panicking handler into an INTERNAL error answer.
func (s *server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.logger.ErrorContext(r.Context(), "rest handler panicked",
					"request_id", requestID(r.Context()), "panic", v, "stack", string(debug.Stack()))
				writeErrorBody(w, http.StatusInternalServerError, errorBody{
					Code: errcode.Internal, Message: internalMessage, Details: map[string]any{}, RequestID: requestID(r.Context()),
				})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (s *server) methodNotAllowed(allowed string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allowed)
		s.writeErrorStatus(w, r, http.StatusMethodNotAllowed,
			errcode.New(errcode.InvalidOrderData, "method %s is not allowed here, use %s", r.Method, allowed))
	})
}

// actor is the authenticated caller, or the zero Principal the application
// answers with UNAUTHENTICATED.
func actor(r *http.Request) auth.Principal {
	p, _ := auth.FromContext(r.Context())
	return p
}
