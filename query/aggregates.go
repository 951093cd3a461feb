package query

import (
	"github.com/orderflow/orderflow/command/inventory"
	"github.com/orderflow/orderflow/command/ordering"
	"github.com/orderflow/orderflow/command/payments"
)

// OrderFromAggregate renders an order aggregate as the read model does. It
// answers a command with the state the command produced, before the
// projection caught up, and lets tests read the source of truth in the same
// shape.
func OrderFromAggregate(o *ordering.Order) Order {
	v := Order{
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
	if f := o.Failure(); f != nil {
		v.Failure = &Failure{Code: f.Code, Message: f.Message, Step: f.Step, At: f.At}
	}
	return v
}

// ProductFromAggregate renders a product aggregate as the read model does.
func ProductFromAggregate(p *inventory.Product) Product {
	return Product{ID: p.ID(), SKU: p.SKU(), Name: p.Name(), Price: p.Price(), Available: p.Available(), Reserved: p.Reserved(),
		OnHand: p.OnHand(), Committed: p.Committed(), Version: p.Version()}
}

// CustomerFromAggregate renders a customer aggregate as the read model does.
func CustomerFromAggregate(c *payments.Customer) Customer {
	return Customer{ID: c.ID(), Email: c.Email(), Name: c.Name(), Balance: c.Balance(), Held: c.Held(), Captured: c.Captured(), Version: c.Version()}
}
