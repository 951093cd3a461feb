// Package app is the application seam: the use cases the GraphQL and REST
// ports, the saga and the jobs call. Commands run in this process through
// the command handlers (their inbox, decision and append) and answer from
// what the handler did; no command of a caller crosses Kafka. Queries read
// state.
package app

import (
	"context"
	"log/slog"

	"github.com/orderflow/orderflow/command/handlers"
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
	// ReplayDeadLetters and DiscardDeadLetter resolve dead letters, and
	// RedriveOrderSaga finishes a stuck or parked saga (operators).
	ReplayDeadLetters ReplayDeadLettersHandler
	DiscardDeadLetter DiscardDeadLetterHandler
	RedriveOrderSaga  RedriveOrderSagaHandler
}

// Queries read state: the read models in Elasticsearch, except the audit
// trail, which comes straight from the event store.
type Queries struct {
	Order        OrderHandler
	SearchOrders SearchOrdersHandler
	Product      ProductHandler
	Customer     CustomerHandler
	OrderEvents  OrderEventsHandler
	// AwaitFinalOrder is the synchronous checkout's wait.
	AwaitFinalOrder AwaitFinalOrderHandler
	// OrderStatusChanged streams an order's states (subscriptions).
	OrderStatusChanged OrderStatusChangedHandler
	// ProjectionStatus shows the read models' lag (operators).
	ProjectionStatus ProjectionStatusHandler
	// Reconciliation shows the last reconciliation report (operators).
	Reconciliation ReconciliationHandler
	// EstimateCompletion tells when an order should be final.
	EstimateCompletion EstimateCompletionHandler
	// OrderTimeline tells one order's story across the contexts (operators).
	OrderTimeline OrderTimelineHandler
	// DeadLetters and DeadLetter read the dead-letter store (operators).
	DeadLetters DeadLettersHandler
	DeadLetter  DeadLetterHandler
	// CircuitBreakers shows the state of this process's breakers
	// (operators).
	CircuitBreakers CircuitBreakersHandler
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
	// Reconciliation reads the last reconciliation report.
	Reconciliation ReconciliationReports
	// Completions measures end-to-end times from the change feed; nil
	// in processes without one (estimates then use the default).
	Completions *CompletionTimes
	// Timelines read an order's story from the event stores.
	Timelines OrderTimelines
	// DeadLetters is the dead-letter store.
	DeadLetters DeadLetterStore
	// Breakers are this process's circuit breakers; nil: none.
	Breakers CircuitBreakers
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

// OrderSagas start an order's saga in the transaction that places it
// (sagas.Processor): the placement runs the hook in its transaction, and
// the func the hook returns, run after the commit, sends the saga's first
// commands. The transaction stays the command side's.
type OrderSagas interface {
	handlers.PlacementHook
}

// Config tunes the application.
type Config struct {
	// MaxPendingCommands bounds the commands (placeOrder, cancelOrder,
	// the admin mutations) this process runs at once. Beyond it a command
	// is refused at once, before it runs (INTERNAL, retryable): under a
	// load the database cannot keep up with, callers learn it in
	// milliseconds instead of queueing for connections, and an error
	// always means nothing was recorded. 0 means no bound.
	MaxPendingCommands int
	// Metrics times the commands (nil: not timed).
	Metrics *CommandMetrics
}

// DefaultConfig is what `orderflow all` uses.
func DefaultConfig() Config {
	return Config{MaxPendingCommands: 512}
}

// New wires the use cases onto the command handlers, the order sagas and
// the read models.
func New(cfg Config, h *handlers.Handlers, sagas OrderSagas, read ReadModels, logger *slog.Logger) Application {
	d := &deps{cfg: cfg, h: h, sagas: sagas, read: read, changes: read.Changes, completions: read.Completions, catalog: newCatalog(), logger: logger}
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

			ReplayDeadLetters: ReplayDeadLettersHandler{d},
			DiscardDeadLetter: DiscardDeadLetterHandler{d},
			RedriveOrderSaga:  RedriveOrderSagaHandler{d},
		},
		Queries: Queries{
			Order:        OrderHandler{d},
			SearchOrders: SearchOrdersHandler{d},
			Product:      ProductHandler{d},
			Customer:     CustomerHandler{d},
			OrderEvents:  OrderEventsHandler{d},

			AwaitFinalOrder: AwaitFinalOrderHandler{d},

			OrderStatusChanged: OrderStatusChangedHandler{d},
			ProjectionStatus:   ProjectionStatusHandler{d},
			Reconciliation:     ReconciliationHandler{d},
			EstimateCompletion: EstimateCompletionHandler{d},
			OrderTimeline:      OrderTimelineHandler{d},
			DeadLetters:        DeadLettersHandler{d},
			DeadLetter:         DeadLetterHandler{d},
			CircuitBreakers:    CircuitBreakersHandler{d},
		},
	}
}

type deps struct {
	cfg   Config
	h     *handlers.Handlers
	sagas OrderSagas
	read  ReadModels
	// changes is nil when the process serves no subscriptions.
	changes OrderChangeWatcher
	// completions is nil when the process follows no change feed.
	completions *CompletionTimes
	// pending holds a token per command running (nil: no bound).
	pending chan struct{}
	catalog *catalog
	logger  *slog.Logger
}
