package app

import (
	"context"
	"errors"
	"slices"

	"github.com/orderflow/orderflow/command/domain/limits"
	"github.com/orderflow/orderflow/command/domain/ordering"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/query"
	"github.com/orderflow/orderflow/timeline"
)

// OrderHandler reads one order from the read model. Customers only see
// their own; someone else's order is NOT_FOUND, so ids cannot be probed.
type OrderHandler struct{ d *deps }

// Handle returns the order, or NOT_FOUND. With minVersion > 0 it first
// waits (bounded) until the read model reflects that stream version, so a
// client that passes the version a mutation returned reads its own write.
func (h OrderHandler) Handle(ctx context.Context, actor auth.Principal, id string, minVersion int) (query.Order, error) {
	if actor.Subject == "" {
		return query.Order{}, errcode.New(errcode.Unauthenticated, "authentication required")
	}
	if err := limits.RequiredText("id", id, limits.MaxIDLength); err != nil {
		return query.Order{}, err
	}
	var o query.Order
	var err error
	if minVersion > 0 {
		o, err = h.d.read.Orders.WaitForOrderVersion(ctx, id, minVersion)
		switch {
		case errors.Is(err, query.ErrReadModelBehind) && o.ID != "":
			err = nil // answer with the newest state rather than fail
		case errors.Is(err, query.ErrReadModelBehind):
			// The order is recorded (the caller has its version) but not
			// yet in the read model: a moment later it will be.
			err = errcode.New(errcode.Internal, "order %s is not in the read model yet, retry shortly", id).Retryable()
		}
	} else {
		o, err = h.d.read.Orders.Order(ctx, id)
	}
	if err != nil {
		return query.Order{}, err
	}
	if requireCustomer(actor, o.CustomerID) != nil {
		return query.Order{}, errcode.New(errcode.NotFound, "order %s not found", id)
	}
	return o, nil
}

// SearchOrdersHandler is the admin search over all orders.
type SearchOrdersHandler struct{ d *deps }

// Handle runs the search (admin only).
func (h SearchOrdersHandler) Handle(ctx context.Context, actor auth.Principal, s query.OrderSearch) (query.OrderSearchResult, error) {
	if err := requireAdmin(actor); err != nil {
		return query.OrderSearchResult{}, err
	}
	if err := validateSearch(s); err != nil {
		return query.OrderSearchResult{}, err
	}
	return h.d.read.Orders.Search(ctx, s)
}

// ProductHandler reads one catalog entry; any authenticated caller may.
type ProductHandler struct{ d *deps }

// Handle returns the product, or NOT_FOUND.
func (h ProductHandler) Handle(ctx context.Context, actor auth.Principal, id string) (query.Product, error) {
	if actor.Subject == "" {
		return query.Product{}, errcode.New(errcode.Unauthenticated, "authentication required")
	}
	if err := limits.RequiredText("id", id, limits.MaxIDLength); err != nil {
		return query.Product{}, err
	}
	return h.d.read.Products.Product(ctx, id)
}

// CustomerHandler reads one account: admins any, customers their own.
type CustomerHandler struct{ d *deps }

// Handle returns the customer, or NOT_FOUND.
func (h CustomerHandler) Handle(ctx context.Context, actor auth.Principal, id string) (query.Customer, error) {
	if err := requireCustomer(actor, id); err != nil {
		if errcode.Is(err, errcode.Forbidden) {
			return query.Customer{}, errcode.New(errcode.NotFound, "customer %s not found", id)
		}
		return query.Customer{}, err
	}
	if err := limits.RequiredText("id", id, limits.MaxIDLength); err != nil {
		return query.Customer{}, err
	}
	return h.d.read.Customers.Customer(ctx, id)
}

// OrderEventsHandler returns an order's audit trail from the event stores.
type OrderEventsHandler struct{ d *deps }

// Handle returns the order's own events oldest first, with correlation and
// causation. Ownership is checked on the event store too, so the trail is
// there the moment the order is.
//
// With allContexts (admins only: they show stock and other customers'
// products), the inventory and payments events that name the order
// (reservations and holds, their commits, captures, releases and voids)
// come too, each with its context and stream, all by occurrence.
func (h OrderEventsHandler) Handle(ctx context.Context, actor auth.Principal, orderID string, allContexts bool) ([]query.OrderEvent, error) {
	if actor.Subject == "" {
		return nil, errcode.New(errcode.Unauthenticated, "authentication required")
	}
	if allContexts {
		if err := requireAdmin(actor); err != nil {
			return nil, err
		}
	}
	if err := limits.RequiredText("orderId", orderID, limits.MaxIDLength); err != nil {
		return nil, err
	}
	trail, err := h.d.h.OrderTrail(ctx, orderID, func(o *ordering.Order) error {
		if o.Version() == 0 || requireCustomer(actor, o.CustomerID()) != nil {
			return errcode.New(errcode.NotFound, "order %s not found", orderID)
		}
		return nil
	}, allContexts)
	if err != nil {
		return nil, err
	}
	out := make([]query.OrderEvent, len(trail))
	for i, e := range trail {
		out[i] = query.OrderEvent{Type: e.EventType, Version: e.Version, OccurredAt: e.OccurredAt, Data: string(e.Data),
			CorrelationID: e.CorrelationID, CausationID: e.CausationID, Context: e.Context, StreamID: e.StreamID}
	}
	// In time order, each stream's events in version order.
	slices.SortStableFunc(out, func(a, b query.OrderEvent) int { return a.OccurredAt.Compare(b.OccurredAt) })
	timeline.KeepStreamOrder(out, func(e query.OrderEvent) (string, int, bool) {
		return e.Context + "/" + e.StreamID, e.Version, true
	})
	return out, nil
}

// Bounds of a search's own inputs; the page size is bounded by the index
// (query.MaxOrderPageSize).
const (
	maxSearchTextLength  = 200
	maxSearchCursorBytes = 1024
	maxSearchValues      = 10
)

// validateSearch refuses search inputs no client needs, before they reach
// Elasticsearch (a 1 MB text would be an expensive query or a refusal).
func validateSearch(s query.OrderSearch) error {
	if err := limits.Text("filter.text", s.Text, maxSearchTextLength); err != nil {
		return err
	}
	for field, id := range map[string]string{"filter.customerId": s.CustomerID, "filter.productId": s.ProductID} {
		if err := limits.Text(field, id, limits.MaxIDLength); err != nil {
			return err
		}
	}
	if err := limits.Text("filter.failureCode", string(s.FailureCode), limits.MaxIDLength); err != nil {
		return err
	}
	if len(s.After) > maxSearchCursorBytes {
		return limits.Invalid("after", maxSearchCursorBytes, "the cursor is not valid for this search")
	}
	if len(s.Statuses) > maxSearchValues || len(s.CurrentSteps) > maxSearchValues {
		return limits.Invalid("filter", maxSearchValues, "a filter lists at most %d statuses and %d steps", maxSearchValues, maxSearchValues)
	}
	return nil
}
