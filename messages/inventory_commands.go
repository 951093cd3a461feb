package messages

import "github.com/orderflow/orderflow/internal/money"

// CreateProduct adds a product to the catalog with its initial stock.
type CreateProduct struct {
	ProductID    string       `json:"productId"`
	SKU          string       `json:"sku"`
	Name         string       `json:"name"`
	Price        money.Amount `json:"price"`
	InitialStock int          `json:"initialStock"`
}

// RestockProduct adds units to a product's stock.
type RestockProduct struct {
	ProductID string `json:"productId"`
	Quantity  int    `json:"quantity"`
}

// ReserveStock is sent by the saga, once per order line.
type ReserveStock struct {
	ProductID string `json:"productId"`
	OrderID   string `json:"orderId"`
	Quantity  int    `json:"quantity"`
}

// ReleaseStock is the saga's compensation for ReserveStock. The quantity is
// whatever the order holds, so none is sent.
type ReleaseStock struct {
	ProductID string `json:"productId"`
	OrderID   string `json:"orderId"`
}

// CommitStock is sent by the saga after the order is confirmed.
type CommitStock struct {
	ProductID string `json:"productId"`
	OrderID   string `json:"orderId"`
}

// CommandName implements Command.
func (CreateProduct) CommandName() string { return "inventory.CreateProduct" }

// CommandName implements Command.
func (RestockProduct) CommandName() string { return "inventory.RestockProduct" }

// CommandName implements Command.
func (ReserveStock) CommandName() string { return "inventory.ReserveStock" }

// CommandName implements Command.
func (ReleaseStock) CommandName() string { return "inventory.ReleaseStock" }

// CommandName implements Command.
func (CommitStock) CommandName() string { return "inventory.CommitStock" }

// AggregateID implements Command: the product id.
func (c CreateProduct) AggregateID() string { return c.ProductID }

// AggregateID implements Command: the product id.
func (c RestockProduct) AggregateID() string { return c.ProductID }

// AggregateID implements Command: the product id.
func (c ReserveStock) AggregateID() string { return c.ProductID }

// AggregateID implements Command: the product id.
func (c ReleaseStock) AggregateID() string { return c.ProductID }

// AggregateID implements Command: the product id.
func (c CommitStock) AggregateID() string { return c.ProductID }
