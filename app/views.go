package app

import (
	"context"

	"github.com/orderflow/orderflow/command/domain/inventory"
	"github.com/orderflow/orderflow/command/domain/ordering"
	"github.com/orderflow/orderflow/command/domain/payments"
	"github.com/orderflow/orderflow/query"
)

// OrderView renders an order aggregate as the read model does: a command
// is answered with the state it produced, before the projection caught up.
func OrderView(o *ordering.Order) query.Order {
	v := query.Order{
		ID:             o.ID(),
		CustomerID:     o.CustomerID(),
		Status:         o.Status(),
		CurrentStep:    o.CurrentStep(),
		CompletedSteps: o.CompletedSteps(),
		PendingSteps:   o.PendingSteps(),
		Items:          o.Items(),
		Total:          o.Total(),
		Currency:       o.Currency(),
		CreatedAt:      o.PlacedAt(),
		UpdatedAt:      o.UpdatedAt(),
		Version:        o.Version(),
	}
	// The order's failure and compensations are the read model's types
	// (query.Failure, query.Compensation): the aggregate returns copies.
	v.Failure = o.Failure()
	v.CancellationRequested = o.CancellationRequested()
	if cs := o.Compensations(); len(cs) > 0 {
		v.Compensations = cs
	}
	return v
}

// withContact adds the customer's name and email to an order answer, as
// the read model has them; left empty when the customer cannot be read
// (the answer is still the order as recorded).
func (d *deps) withContact(ctx context.Context, o query.Order) query.Order {
	if ct, ok, err := d.catalog.customer(ctx, d.h, o.CustomerID); err == nil && ok {
		o.CustomerName, o.CustomerEmail = ct.name, ct.email
	}
	return o
}

// ProductView renders a product aggregate as the read model does.
func ProductView(p *inventory.Product) query.Product {
	return query.Product{ID: p.ID(), SKU: p.SKU(), Name: p.Name(), Price: p.Price(), Available: p.Available(), Reserved: p.Reserved(),
		OnHand: p.OnHand(), Committed: p.Committed(), Version: p.Version()}
}

// CustomerView renders a customer aggregate as the read model does.
func CustomerView(c *payments.Customer) query.Customer {
	return query.Customer{ID: c.ID(), Email: c.Email(), Name: c.Name(), Balance: c.Balance(), Held: c.Held(), Captured: c.Captured(), Version: c.Version()}
}
