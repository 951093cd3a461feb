package messages

import "github.com/orderflow/orderflow/internal/money"

// Reasons recorded on refusal events. They are facts for the saga and the
// timeline, not error codes: the saga maps them to INVENTORY_UNAVAILABLE or
// PAYMENT_FAILED when it ends the order.
const (
	// ReasonInsufficientStock: fewer units available than requested.
	ReasonInsufficientStock = "INSUFFICIENT_STOCK"
	// ReasonInsufficientFunds: the customer's balance is below the amount.
	ReasonInsufficientFunds = "INSUFFICIENT_FUNDS"
)

// ProductCreated starts a product stream with its catalog data and stock.
type ProductCreated struct {
	ProductID    string       `json:"productId"`
	SKU          string       `json:"sku"`
	Name         string       `json:"name"`
	Price        money.Amount `json:"price"`
	InitialStock int          `json:"initialStock"`
}

// ProductRestocked adds units to the stock on hand.
type ProductRestocked struct {
	ProductID string `json:"productId"`
	Quantity  int    `json:"quantity"`
}

// StockReserved sets units aside for one order; they stay on hand but are
// no longer available to others.
type StockReserved struct {
	ProductID string `json:"productId"`
	OrderID   string `json:"orderId"`
	Quantity  int    `json:"quantity"`
}

// StockReservationRejected records a refusal: not enough available stock.
// It is a fact on the product stream, not an error, so the saga learns of it
// like any other outcome and compensates. Available is the stock at the time
// of the decision, for the customer-facing message.
type StockReservationRejected struct {
	ProductID string `json:"productId"`
	OrderID   string `json:"orderId"`
	Requested int    `json:"requested"`
	Available int    `json:"available"`
	Reason    string `json:"reason"`
}

// StockReleased returns an order's reservation to available stock
// (compensation).
type StockReleased struct {
	ProductID string `json:"productId"`
	OrderID   string `json:"orderId"`
	Quantity  int    `json:"quantity"`
}

// StockCommitted turns an order's reservation into a sale: the units leave
// the stock on hand for good.
type StockCommitted struct {
	ProductID string `json:"productId"`
	OrderID   string `json:"orderId"`
	Quantity  int    `json:"quantity"`
}

// EventType implements Event.
func (ProductCreated) EventType() string { return "inventory.ProductCreated" }

// EventType implements Event.
func (ProductRestocked) EventType() string { return "inventory.ProductRestocked" }

// EventType implements Event.
func (StockReserved) EventType() string { return "inventory.StockReserved" }

// EventType implements Event.
func (StockReservationRejected) EventType() string { return "inventory.StockReservationRejected" }

// EventType implements Event.
func (StockReleased) EventType() string { return "inventory.StockReleased" }

// EventType implements Event.
func (StockCommitted) EventType() string { return "inventory.StockCommitted" }

// AggregateID implements Event: the product stream.
func (e ProductCreated) AggregateID() string { return e.ProductID }

// AggregateID implements Event: the product stream.
func (e ProductRestocked) AggregateID() string { return e.ProductID }

// AggregateID implements Event: the product stream.
func (e StockReserved) AggregateID() string { return e.ProductID }

// AggregateID implements Event: the product stream.
func (e StockReservationRejected) AggregateID() string { return e.ProductID }

// AggregateID implements Event: the product stream.
func (e StockReleased) AggregateID() string { return e.ProductID }

// AggregateID implements Event: the product stream.
func (e StockCommitted) AggregateID() string { return e.ProductID }
