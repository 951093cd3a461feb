package app

import (
	"context"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
)

// catalog remembers what placing an order looks up and what never changes
// once it exists: a product's name, SKU and price (there is no command that
// changes them) and that a customer is registered. Streams of popular
// products and busy customers grow with every order, so reading them for
// each placement would cost more the longer the system runs.
// Both are bounded LRUs: a miss costs one stream read.
type catalog struct {
	products  *lru.Cache[string, *catalogEntry]
	customers *lru.Cache[string, contact]
}

// catalogSize bounds the products and the customers the catalog keeps.
const catalogSize = 100_000

func newCatalog() *catalog {
	products, err := lru.New[string, *catalogEntry](catalogSize)
	if err != nil {
		panic(err) // only for a size below 1
	}
	customers, err := lru.New[string, contact](catalogSize)
	if err != nil {
		panic(err)
	}
	return &catalog{products: products, customers: customers}
}

type catalogEntry struct {
	name, sku string
	price     money.Amount
}

// product returns the catalog entry of id, nil if no such product exists.
func (c *catalog) product(ctx context.Context, h *handlers.Handlers, id string) (*catalogEntry, error) {
	if e, ok := c.products.Get(id); ok {
		return e, nil
	}
	p, err := h.Products.Load(ctx, id)
	if err != nil || p.Version() == 0 {
		return nil, err
	}
	e := &catalogEntry{name: p.Name(), sku: p.SKU(), price: p.Price()}
	c.products.Add(id, e)
	return e, nil
}

// contact is a registered customer's name and email (no command changes
// them).
type contact struct{ name, email string }

// customer returns the contact of customer id; ok is false if no such
// customer is registered.
func (c *catalog) customer(ctx context.Context, h *handlers.Handlers, id string) (contact, bool, error) {
	if ct, ok := c.customers.Get(id); ok {
		return ct, true, nil
	}
	customer, err := h.Customers.Load(ctx, id)
	if err != nil || customer.Version() == 0 {
		return contact{}, false, err
	}
	ct := contact{name: customer.Name(), email: customer.Email()}
	c.customers.Add(id, ct)
	return ct, true, nil
}

// customerExists returns NOT_FOUND unless the customer is registered.
func (c *catalog) customerExists(ctx context.Context, h *handlers.Handlers, id string) error {
	_, ok, err := c.customer(ctx, h, id)
	if err == nil && !ok {
		return errcode.New(errcode.NotFound, "customer %s not found", id).With("field", "customerId")
	}
	return err
}
