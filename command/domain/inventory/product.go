// Package inventory holds the Product aggregate: catalog data, stock on hand
// and the reservations held per order. Its one invariant is that available
// stock never drops below zero, so no order can be promised a unit another
// order already holds.
//
// The aggregate is event sourced in the decide/evolve style: decision methods
// read state and return new events without changing anything; Apply folds
// stored or newly decided events into state. The caller appends the decided
// events at the expected Version and only then applies them.
package inventory

import (
	"strings"

	"github.com/orderflow/orderflow/command/domain/limits"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/messages"
)

// reservationState is where one order's claim on this product stands. Each
// order gets exactly one decision per product, so a command the saga
// re-sends after a restart can never reserve twice, or re-reserve stock that
// was already released or committed.
type reservationState int

const (
	reserved reservationState = iota + 1
	committed
	released
	rejected
)

type reservation struct {
	quantity int
	state    reservationState
}

// Product is the inventory aggregate. The zero value is a product that does
// not exist yet; Create is its only valid first decision.
type Product struct {
	id    string
	sku   string
	name  string
	price money.Amount

	onHand    int // units in the warehouse, reserved ones included
	reserved  int // units held for orders, a part of onHand
	committed int // units sold and gone from onHand

	reservations map[string]reservation // by order id
	version      int
}

// ID returns the product id, empty before creation.
func (p *Product) ID() string { return p.id }

// SKU returns the stock keeping unit.
func (p *Product) SKU() string { return p.sku }

// Name returns the display name, copied into order lines at placement.
func (p *Product) Name() string { return p.name }

// Price returns the catalog unit price, the only price an order may use.
func (p *Product) Price() money.Amount { return p.price }

// OnHand returns the units physically in stock, reserved ones included.
func (p *Product) OnHand() int { return p.onHand }

// Reserved returns the units held for orders in flight.
func (p *Product) Reserved() int { return p.reserved }

// Available returns the units that can still be reserved: OnHand - Reserved.
func (p *Product) Available() int { return p.onHand - p.reserved }

// Committed returns the units sold over the product's lifetime.
func (p *Product) Committed() int { return p.committed }

// ReservedFor returns the units currently held for one order, zero when it
// holds none (never reserved, rejected, released or already committed).
func (p *Product) ReservedFor(orderID string) int {
	if r := p.reservations[orderID]; r.state == reserved {
		return r.quantity
	}
	return 0
}

// Version returns the number of events applied, which is the stream version
// the next append must expect.
func (p *Product) Version() int { return p.version }

func (p *Product) exists() bool { return p.id != "" }

// Create decides the product's first event. The sku and name are trimmed
// and bounded (limits.MaxSKULength, limits.MaxProductNameLength), the price
// is 0.01 to limits.MaxAmount and the initial stock 0 to limits.MaxStock.
func (p *Product) Create(cmd messages.CreateProduct) ([]messages.Event, error) {
	if p.exists() {
		return nil, errcode.New(errcode.Conflict, "product %s already exists", p.id)
	}
	sku, name := strings.TrimSpace(cmd.SKU), strings.TrimSpace(cmd.Name)
	for _, err := range []error{
		limits.RequiredText("productId", cmd.ProductID, limits.MaxIDLength),
		limits.RequiredText("sku", sku, limits.MaxSKULength),
		limits.RequiredText("name", name, limits.MaxProductNameLength),
		limits.Amount("price", cmd.Price, 1, limits.MaxAmount),
		limits.Count("initialStock", cmd.InitialStock, 0, limits.MaxStock),
	} {
		if err != nil {
			return nil, err
		}
	}
	return []messages.Event{messages.ProductCreated{
		ProductID:    cmd.ProductID,
		SKU:          sku,
		Name:         name,
		Price:        cmd.Price,
		InitialStock: cmd.InitialStock,
	}}, nil
}

// Restock decides to add qty units to the stock on hand. The product's
// lifetime stock (on hand plus committed: every unit it ever received)
// stays at most limits.MaxStock, so every count of it fits the 32-bit
// integers it is served and indexed as.
func (p *Product) Restock(qty int) ([]messages.Event, error) {
	if err := p.mustExist(); err != nil {
		return nil, err
	}
	if qty < 1 {
		return nil, limits.Count("quantity", qty, 1, limits.MaxStock)
	}
	if room := limits.MaxStock - p.onHand - p.committed; qty > room {
		return nil, limits.Invalid("quantity", limits.MaxStock,
			"quantity %d would give product %s more than %d units in its lifetime (%d on hand, %d sold): at most %d more",
			qty, p.id, limits.MaxStock, p.onHand, p.committed, room)
	}
	return []messages.Event{messages.ProductRestocked{ProductID: p.id, Quantity: qty}}, nil
}

// Reserve decides whether orderID may hold qty units. Not enough stock is a
// refusal recorded as StockReservationRejected, not an error, so the saga
// hears about it through the event stream like any other outcome. An order
// that already got a decision from this product gets no new events.
//
// Reserving on a product that does not exist is a NOT_FOUND error rather
// than a rejection: appending to its stream would conjure up the product.
func (p *Product) Reserve(orderID string, qty int) ([]messages.Event, error) {
	if err := p.mustExist(); err != nil {
		return nil, err
	}
	if blank(orderID) {
		return nil, invalid("orderId", "order id is required")
	}
	if qty <= 0 {
		return nil, invalid("quantity", "reserved quantity must be positive")
	}
	if _, decided := p.reservations[orderID]; decided {
		return nil, nil
	}
	if available := p.Available(); available < qty {
		return []messages.Event{messages.StockReservationRejected{
			ProductID: p.id,
			OrderID:   orderID,
			Requested: qty,
			Available: available,
			Reason:    messages.ReasonInsufficientStock,
		}}, nil
	}
	return []messages.Event{messages.StockReserved{ProductID: p.id, OrderID: orderID, Quantity: qty}}, nil
}

// Release decides to give an order's reservation back to available stock.
// Releasing what is not held (never reserved, rejected, already released or
// committed) is a no-op, so compensation can always be sent safely.
func (p *Product) Release(orderID string) ([]messages.Event, error) {
	if err := p.mustExist(); err != nil {
		return nil, err
	}
	r, ok := p.reservations[orderID]
	if !ok || r.state != reserved {
		return nil, nil
	}
	return []messages.Event{messages.StockReleased{ProductID: p.id, OrderID: orderID, Quantity: r.quantity}}, nil
}

// Commit decides to turn an order's reservation into a sale. Committing
// twice is a no-op; committing an order that holds no reservation is a
// CONFLICT, because stock that was never set aside cannot be sold.
func (p *Product) Commit(orderID string) ([]messages.Event, error) {
	if err := p.mustExist(); err != nil {
		return nil, err
	}
	r := p.reservations[orderID]
	switch r.state {
	case reserved:
		return []messages.Event{messages.StockCommitted{ProductID: p.id, OrderID: orderID, Quantity: r.quantity}}, nil
	case committed:
		return nil, nil
	default:
		return nil, errcode.New(errcode.Conflict, "order %s holds no reservation of product %s", orderID, p.id).
			With("orderId", orderID)
	}
}

// Apply evolves the product by one event of its stream. Events of other
// types are ignored but still counted, so Version always equals the stream
// length. Apply trusts its input: events were validated when decided.
func (p *Product) Apply(e messages.Event) {
	p.version++
	if p.reservations == nil {
		p.reservations = make(map[string]reservation)
	}
	switch e := e.(type) {
	case messages.ProductCreated:
		p.id, p.sku, p.name, p.price = e.ProductID, e.SKU, e.Name, e.Price
		p.onHand = e.InitialStock
	case messages.ProductRestocked:
		p.onHand += e.Quantity
	case messages.StockReserved:
		p.reserved += e.Quantity
		p.reservations[e.OrderID] = reservation{quantity: e.Quantity, state: reserved}
	case messages.StockReservationRejected:
		p.reservations[e.OrderID] = reservation{quantity: e.Requested, state: rejected}
	case messages.StockReleased:
		p.reserved -= e.Quantity
		p.reservations[e.OrderID] = reservation{quantity: e.Quantity, state: released}
	case messages.StockCommitted:
		p.reserved -= e.Quantity
		p.onHand -= e.Quantity
		p.committed += e.Quantity
		p.reservations[e.OrderID] = reservation{quantity: e.Quantity, state: committed}
	}
}

func (p *Product) mustExist() error {
	if !p.exists() {
		return errcode.New(errcode.NotFound, "product not found")
	}
	return nil
}
