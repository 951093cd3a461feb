package graph

import (
	"math"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/gorilla/websocket"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/orderflow/orderflow/graph/generated"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/requestid"
)

// HandlerOptions are the authentication and the protections of the public
// endpoint. A zero numeric field takes its documented default and a
// negative one switches that protection off, so HandlerOptions{JWTSecret: s}
// is a production-safe configuration.
type HandlerOptions struct {
	// JWTSecret verifies the HS256 bearer tokens. Empty accepts no token:
	// every caller is anonymous.
	JWTSecret []byte
	// Introspection lets clients (and GraphiQL) read the schema. Default
	// off; when off, validation errors also stop suggesting field names.
	Introspection bool
	// ComplexityLimit rejects operations whose computed cost (one per
	// field selected, aliases, fragment spreads and introspection fields
	// included) exceeds it. Default 500.
	ComplexityLimit int
	// DepthLimit rejects operations nested deeper than this many fields,
	// introspection fields included. Default 15: the schema's data is at
	// most a few levels deep, and GraphiQL's introspection query needs 15.
	DepthLimit int
	// ParserTokenLimit rejects query documents of more tokens before
	// parsing them further. Default 10,000.
	ParserTokenLimit int
	// MaxBodyBytes rejects larger request bodies with 413. Default 1 MiB.
	MaxBodyBytes int64
	// RequestTimeout bounds each query or mutation over HTTP (not the
	// websocket connections). Default 30s.
	RequestTimeout time.Duration
	// KeepAlive is the websocket keep-alive interval. Default 10s.
	KeepAlive time.Duration
	// InitTimeout is how long a websocket may take to send connection_init.
	// Default 10s.
	InitTimeout time.Duration
}

// The defaults of HandlerOptions.
const (
	DefaultComplexityLimit  = 500
	DefaultDepthLimit       = 15
	DefaultParserTokenLimit = 10_000
	DefaultMaxBodyBytes     = 1 << 20
	DefaultRequestTimeout   = 30 * time.Second
	DefaultKeepAlive        = 10 * time.Second
	DefaultInitTimeout      = 10 * time.Second
)

func (o HandlerOptions) withDefaults() HandlerOptions {
	setDefault(&o.ComplexityLimit, DefaultComplexityLimit)
	setDefault(&o.DepthLimit, DefaultDepthLimit)
	setDefault(&o.ParserTokenLimit, DefaultParserTokenLimit)
	setDefault(&o.MaxBodyBytes, DefaultMaxBodyBytes)
	setDefault(&o.RequestTimeout, DefaultRequestTimeout)
	setDefault(&o.KeepAlive, DefaultKeepAlive)
	setDefault(&o.InitTimeout, DefaultInitTimeout)
	return o
}

// limitOrNone is a limit of HandlerOptions, switched off when negative.
func limitOrNone(n int) int {
	if n > 0 {
		return n
	}
	return math.MaxInt
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// NewHandler serves GraphQL over POST and websockets (both the
// graphql-transport-ws and the legacy graphql-ws sub-protocols) at one
// path. Around gqlgen it gives each request an id (X-Request-Id),
// authenticates the bearer token, applies the timeout and body limit, and
// presents every error with a contract code (see errors.go).
func NewHandler(resolver *Resolver, opts HandlerOptions) http.Handler {
	opts = opts.withDefaults()
	if resolver.logger == nil {
		resolver = NewResolver(resolver.app, nil)
	}
	presenter := errorPresenter{logger: resolver.logger}

	srv := handler.New(generated.NewExecutableSchema(generated.Config{Resolvers: resolver}))
	transports := []graphql.Transport{
		transport.Websocket{
			KeepAlivePingInterval: opts.KeepAlive,
			// The init timeout is kept by withWebsocketClose, which
			// closes with the protocol's code (gqlgen's is 1002).
			Upgrader: websocket.Upgrader{
				// Tokens travel in connection_init, never in cookies, so
				// a foreign page gains nothing from opening a socket.
				CheckOrigin:     func(*http.Request) bool { return true },
				ReadBufferSize:  1024,
				WriteBufferSize: 1024,
				Subprotocols:    wsSubprotocols,
			},
			InitFunc: websocketAuth(opts.JWTSecret),
		},
		// No GET transport: the contract serves POST, and GET queries
		// would need their own coded errors (gqlgen's are uncoded).
		transport.Options{AllowedMethods: []string{http.MethodOptions, http.MethodPost}},
		transport.POST{},
	}
	for _, t := range transports {
		srv.AddTransport(t)
	}
	srv.SetErrorPresenter(presenter.present)
	srv.SetRecoverFunc(presenter.recover)
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetDisableSuggestion(!opts.Introspection)
	if opts.ParserTokenLimit > 0 {
		srv.SetParserTokenLimit(opts.ParserTokenLimit)
	}
	if opts.Introspection {
		srv.Use(extension.Introspection{})
	} else {
		srv.Use(noIntrospection{})
	}
	if opts.ComplexityLimit > 0 || opts.DepthLimit > 0 {
		srv.Use(operationLimits{maxDepth: limitOrNone(opts.DepthLimit), maxComplexity: limitOrNone(opts.ComplexityLimit)})
	}

	var h http.Handler = withWebsocketClose(opts.InitTimeout, srv)
	h = supportedOnly(transports, h)
	h = limitBody(opts.MaxBodyBytes, h)
	h = withTimeout(opts.RequestTimeout, h)
	h = auth.Middleware(opts.JWTSecret)(h)
	return requestid.Middleware(h)
}

// Playground is the GraphiQL page served at "/".
func Playground(endpoint string) http.Handler {
	return playground.Handler("orderflow", endpoint)
}
