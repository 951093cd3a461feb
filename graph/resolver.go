// Package graph is the GraphQL port: thin resolvers that turn arguments into
// application calls and results into API models. No SQL, no search queries.
// Authentication, error presentation and the protections of the public
// endpoint live in handler.go and the files it names.
package graph

import (
	"context"
	"log/slog"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/internal/auth"
)

// Resolver is the root of every resolver; it holds the application seam.
type Resolver struct {
	app    app.Application
	logger *slog.Logger
}

// NewResolver returns the root resolver over application. logger receives
// the internal errors the API hides from clients; nil discards them.
func NewResolver(application app.Application, logger *slog.Logger) *Resolver {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Resolver{app: application, logger: logger}
}

// actor is the caller the auth middleware (or the websocket init) put in
// the context; the zero Principal when there is none, which the
// application answers with UNAUTHENTICATED.
func actor(ctx context.Context) auth.Principal {
	p, _ := auth.FromContext(ctx)
	return p
}
