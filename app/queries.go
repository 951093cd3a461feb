package app

import (
	"context"

	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/query"
)

// OrderHandler reads one order. Customers only see their own; someone
// else's order is NOT_FOUND, so ids cannot be probed.
type OrderHandler struct{ d *deps }

// Handle returns the order, or NOT_FOUND.
func (h OrderHandler) Handle(ctx context.Context, actor auth.Principal, id string) (query.Order, error) {
	if actor.Subject == "" {
		return query.Order{}, errcode.New(errcode.Unauthenticated, "authentication required")
	}
	o, err := h.d.h.Orders.Load(ctx, id)
	if err != nil {
		return query.Order{}, err
	}
	if o.Version() == 0 || requireCustomer(actor, o.CustomerID()) != nil {
		return query.Order{}, errcode.New(errcode.NotFound, "order %s not found", id)
	}
	return orderView(o), nil
}

// ProductHandler reads one catalog entry; any authenticated caller may.
type ProductHandler struct{ d *deps }

// Handle returns the product, or NOT_FOUND.
func (h ProductHandler) Handle(ctx context.Context, actor auth.Principal, id string) (query.Product, error) {
	if actor.Subject == "" {
		return query.Product{}, errcode.New(errcode.Unauthenticated, "authentication required")
	}
	p, err := h.d.h.Products.Load(ctx, id)
	if err != nil {
		return query.Product{}, err
	}
	if p.Version() == 0 {
		return query.Product{}, errcode.New(errcode.NotFound, "product %s not found", id)
	}
	return productView(p), nil
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
	c, err := h.d.h.Customers.Load(ctx, id)
	if err != nil {
		return query.Customer{}, err
	}
	if c.Version() == 0 {
		return query.Customer{}, errcode.New(errcode.NotFound, "customer %s not found", id)
	}
	return customerView(c), nil
}

// OrderEventsHandler returns an order's audit trail from the event store.
type OrderEventsHandler struct{ d *deps }

// Handle returns the events oldest first, with correlation and causation.
func (h OrderEventsHandler) Handle(ctx context.Context, actor auth.Principal, orderID string) ([]query.OrderEvent, error) {
	if _, err := (OrderHandler{h.d}).Handle(ctx, actor, orderID); err != nil {
		return nil, err
	}
	store := h.d.h.Orders.Store()
	records, err := store.ReadStream(ctx, store.Pool(), orderID, 0)
	if err != nil {
		return nil, err
	}
	out := make([]query.OrderEvent, len(records))
	for i, r := range records {
		out[i] = query.OrderEvent{Type: r.EventType, Version: r.Version, OccurredAt: r.CreatedAt, Data: string(r.Data),
			CorrelationID: r.CorrelationID, CausationID: r.CausationID}
	}
	return out, nil
}
