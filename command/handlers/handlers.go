package handlers

import (
	"context"
	"log/slog"
	"time"

	"github.com/orderflow/orderflow/command/domain/inventory"
	"github.com/orderflow/orderflow/command/domain/ordering"
	"github.com/orderflow/orderflow/command/domain/payments"
	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/internal/errcode"
)

// Stream types stored with every event.
const (
	OrderStream    = "Order"
	ProductStream  = "Product"
	CustomerStream = "Customer"
)

// MetadataCorrelationID is the message metadata key of the correlation id.
const MetadataCorrelationID = "correlation_id"

// Handlers are the command handlers of every context.
type Handlers struct {
	Orders    *Executor[*ordering.Order]
	Products  *Executor[*inventory.Product]
	Customers *Executor[*payments.Customer]

	// Provider authorizes payments; payments.BalanceProvider by default.
	Provider payments.Provider
	// ProviderTimeout bounds one call to the provider.
	ProviderTimeout time.Duration

	now    func() time.Time
	logger *slog.Logger
}

// Stores are the event stores of the three contexts.
type Stores struct {
	Ordering, Inventory, Payments *eventstore.Store
}

// New returns the handlers over stores. now is the clock the aggregates
// stamp their events with.
func New(stores Stores, now func() time.Time, logger *slog.Logger) *Handlers {
	return &Handlers{
		Orders:    NewExecutor(stores.Ordering, OrderStream, func() *ordering.Order { return &ordering.Order{} }),
		Products:  NewExecutor(stores.Inventory, ProductStream, func() *inventory.Product { return &inventory.Product{} }),
		Customers: NewExecutor(stores.Payments, CustomerStream, func() *payments.Customer { return &payments.Customer{} }),

		Provider:        payments.BalanceProvider{},
		ProviderTimeout: 3 * time.Second,

		now:    now,
		logger: logger,
	}
}

// settle decides what the bus does with a handled message. A refusal by the
// domain is final and already recorded in the inbox, so the message is
// acknowledged; anything else is returned for the consumer to retry.
func (h *Handlers) settle(ctx context.Context, handler string, err error) error {
	if err == nil {
		return nil
	}
	if code := errcode.Of(err); code != errcode.Internal {
		h.logger.InfoContext(ctx, "command refused", "handler", handler, "code", code, "error", err)
		return nil
	}
	return err
}
