package graph

import (
	"context"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/gorilla/websocket"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/orderflow/orderflow/graph/generated"
)

// HandlerOptions are the protections of the public endpoint.
type HandlerOptions struct {
	// Introspection lets clients (and GraphiQL) read the schema.
	Introspection bool
	// ComplexityLimit rejects queries whose computed cost exceeds it.
	ComplexityLimit int
	// KeepAlive is the websocket keep-alive interval.
	KeepAlive time.Duration
}

// NewHandler serves GraphQL over POST, GET and websockets (both the
// graphql-transport-ws and the legacy graphql-ws sub-protocols).
func NewHandler(resolver *Resolver, opts HandlerOptions) http.Handler {
	srv := handler.New(generated.NewExecutableSchema(generated.Config{Resolvers: resolver}))
	srv.AddTransport(transport.Websocket{
		KeepAlivePingInterval: opts.KeepAlive,
		Upgrader: websocket.Upgrader{
			CheckOrigin:     func(*http.Request) bool { return true },
			ReadBufferSize:  1024,
			WriteBufferSize: 1024,
		},
		InitFunc: func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
			return ctx, &p, nil
		},
	})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	if opts.Introspection {
		srv.Use(extension.Introspection{})
	}
	if opts.ComplexityLimit > 0 {
		srv.Use(extension.FixedComplexityLimit(opts.ComplexityLimit))
	}
	return srv
}

// Playground is the GraphiQL page served at "/".
func Playground(endpoint string) http.Handler {
	return playground.Handler("orderflow", endpoint)
}
