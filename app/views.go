package app

import (
	"github.com/orderflow/orderflow/command/inventory"
	"github.com/orderflow/orderflow/command/ordering"
	"github.com/orderflow/orderflow/command/payments"
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
	if f := o.Failure(); f != nil {
		v.Failure = &query.Failure{Code: f.Code, Message: f.Message, Step: f.Step, At: f.At}
	}
	return v
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
