package documents

import (
	"time"

	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/messages"
)

// Product is a catalog entry with its stock, as stored in the
// products index. Product events carry no time of their own, so the times
// are the event store's.
type Product struct {
	ID    string       `json:"id"`
	SKU   string       `json:"sku"`
	Name  string       `json:"name"`
	Price money.Amount `json:"price"`
	// OnHand counts the units in the warehouse, reserved ones included.
	OnHand int `json:"onHand"`
	// Reserved counts the units held for orders in flight.
	Reserved int `json:"reserved"`
	// Available is OnHand - Reserved: what can still be ordered.
	Available int `json:"available"`
	// Committed counts the units sold over the product's lifetime.
	Committed int       `json:"committed"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	Version   int       `json:"version"`
}

// NewProduct is the document of a product stream before its first
// event.
func NewProduct(id string) Product { return Product{ID: id} }

// ApplyProductEvent returns doc with e applied; it mirrors
// inventory.Product.Apply. Pure, and trusts e to be the next version.
func ApplyProductEvent(doc Product, e Event) Product {
	d := doc
	d.ID = e.StreamID
	d.Version = e.Version
	d.UpdatedAt = e.OccurredAt
	switch p := e.Payload.(type) {
	case messages.ProductCreated:
		d.SKU, d.Name, d.Price = p.SKU, p.Name, p.Price
		d.OnHand = p.InitialStock
		d.CreatedAt = e.OccurredAt
	case messages.ProductRestocked:
		d.OnHand += p.Quantity
	case messages.StockReserved:
		d.Reserved += p.Quantity
	case messages.StockReleased:
		d.Reserved -= p.Quantity
	case messages.StockCommitted:
		d.Reserved -= p.Quantity
		d.OnHand -= p.Quantity
		d.Committed += p.Quantity
	}
	d.Available = d.OnHand - d.Reserved
	return d
}

// FoldProduct is FoldOrder for products.
func FoldProduct(doc Product, events ...Event) (Product, error) {
	return fold(ApplyProductEvent, func(d Product) int { return d.Version }, doc, events)
}
