// Package app is the application seam: the use cases the GraphQL and REST
// ports, the saga and the jobs call. Commands validate what they can up
// front, travel over the command bus, and — where the caller needs the
// result — wait until the handler recorded its outcome. Queries read state.
package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/orderflow/orderflow/command/bus"
	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/query"
)

// Application is everything a port may ask of orderflow.
type Application struct {
	Commands Commands
	Queries  Queries
}

// Commands change state.
type Commands struct {
	PlaceOrder       PlaceOrderHandler
	CancelOrder      CancelOrderHandler
	CreateProduct    CreateProductHandler
	RestockProduct   RestockProductHandler
	RegisterCustomer RegisterCustomerHandler
	AddFunds         AddFundsHandler
}

// Queries read state: the read models in Elasticsearch, except the audit
// trail, which comes straight from the event store.
type Queries struct {
	Order        OrderHandler
	SearchOrders SearchOrdersHandler
	Product      ProductHandler
	Customer     CustomerHandler
	OrderEvents  OrderEventsHandler
	// OrderStatusChanged streams an order's states (subscriptions).
	OrderStatusChanged OrderStatusChangedHandler
	// ProjectionStatus shows the read models' lag (operators).
	ProjectionStatus ProjectionStatusHandler
}

// ReadModels are the readers of the projected read models.
type ReadModels struct {
	Orders    OrderReader
	Products  ProductReader
	Customers CustomerReader
	// Changes signals order changes to live subscriptions; nil in
	// processes that serve none.
	Changes OrderChangeWatcher
	// Projections reports the projections' status.
	Projections ProjectionStatusReader
}

// OrderReader reads the orders read model.
type OrderReader interface {
	Order(ctx context.Context, id string) (query.Order, error)
	// WaitForOrderVersion waits (bounded) until the order's document
	// reflects at least minVersion: read-your-writes after a mutation.
	WaitForOrderVersion(ctx context.Context, id string, minVersion int) (query.Order, error)
	Search(ctx context.Context, s query.OrderSearch) (query.OrderSearchResult, error)
}

// ProductReader reads the products read model.
type ProductReader interface {
	Product(ctx context.Context, id string) (query.Product, error)
}

// CustomerReader reads the customers read model.
type CustomerReader interface {
	Customer(ctx context.Context, id string) (query.Customer, error)
}

// CommandSender is the command bus as the application sees it.
type CommandSender interface {
	Send(ctx context.Context, cmd messages.Command, env bus.Envelope) (string, error)
}

// Config tunes the application.
type Config struct {
	// OutcomeTimeout bounds how long a synchronous command waits for its
	// handler to record the outcome.
	OutcomeTimeout time.Duration
	// MaxPendingCommands bounds the synchronous commands (placeOrder,
	// cancelOrder, the admin mutations) this process has sent and waits
	// on. Beyond it a command is refused at once, before it is sent
	// (INTERNAL, retryable): under a load the handlers cannot keep up with,
	// callers learn it in milliseconds instead of after OutcomeTimeout,
	// and an error always means nothing was recorded. 0 means no bound.
	MaxPendingCommands int
}

// DefaultConfig is what `orderflow all` uses.
func DefaultConfig() Config {
	return Config{OutcomeTimeout: 15 * time.Second, MaxPendingCommands: 512}
}

// New wires the use cases onto the command bus and the command handlers'
// event stores.
func New(cfg Config, sender CommandSender, h *handlers.Handlers, read ReadModels, now func() time.Time, logger *slog.Logger) Application {
	d := &deps{cfg: cfg, sender: sender, h: h, read: read, changes: read.Changes, catalog: &catalog{}, now: now, logger: logger}
	if cfg.MaxPendingCommands > 0 {
		d.pending = make(chan struct{}, cfg.MaxPendingCommands)
	}
	return Application{
		Commands: Commands{
			PlaceOrder:       PlaceOrderHandler{d},
			CancelOrder:      CancelOrderHandler{d},
			CreateProduct:    CreateProductHandler{d},
			RestockProduct:   RestockProductHandler{d},
			RegisterCustomer: RegisterCustomerHandler{d},
			AddFunds:         AddFundsHandler{d},
		},
		Queries: Queries{
			Order:        OrderHandler{d},
			SearchOrders: SearchOrdersHandler{d},
			Product:      ProductHandler{d},
			Customer:     CustomerHandler{d},
			OrderEvents:  OrderEventsHandler{d},

			OrderStatusChanged: OrderStatusChangedHandler{d},
			ProjectionStatus:   ProjectionStatusHandler{d},
		},
	}
}

type deps struct {
	cfg    Config
	sender CommandSender
	h      *handlers.Handlers
	read   ReadModels
	// changes is nil when the process serves no subscriptions.
	changes OrderChangeWatcher
	// pending holds a token per synchronous command in flight (nil: no
	// bound).
	pending chan struct{}
	catalog *catalog
	now     func() time.Time
	logger  *slog.Logger
}
