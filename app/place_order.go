package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/command/domain/ordering"
	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/query"
)

// PlaceOrder is a customer's order as submitted: products and quantities
// only, prices come from the catalog.
type PlaceOrder struct {
	// CustomerID is who orders; empty means the caller.
	CustomerID      string
	IdempotencyKey  string
	Items           []OrderItem
	ShippingAddress messages.Address
	BillingAddress  messages.Address
	PaymentMethod   messages.PaymentMethod
}

// OrderItem is one requested line.
type OrderItem struct {
	ProductID string
	Quantity  int
	// StatedUnitPrice is the price the customer was shown, when the client
	// states one (REST's unit_price). The catalog price is what is charged;
	// a stated price that differs is refused, so no order is charged at a
	// price its customer did not see. Nil states none.
	StatedUnitPrice *money.Amount
}

// orderNamespace derives order ids from (customer, idempotency key).
var orderNamespace = uuid.MustParse("5b0c7e8e-3f7a-4e0b-9a51-6f1f4c0f2a11")

// OrderID is the id of the order a customer places with key: the same
// customer and key always name the same order, so a retried placement can
// only ever find the first one.
func OrderID(customerID, key string) string {
	return uuid.NewSHA1(orderNamespace, []byte(customerID+"\x00"+key)).String()
}

// PlaceOrderHandler validates an order against the catalog, records it with
// the start of its saga and answers with the order PENDING; the saga takes
// it from there.
type PlaceOrderHandler struct{ d *deps }

// Handle places the order, or returns the order already placed with the
// same idempotency key.
func (h PlaceOrderHandler) Handle(ctx context.Context, actor auth.Principal, in PlaceOrder) (query.Order, error) {
	if in.CustomerID == "" {
		in.CustomerID = actor.Subject
	}
	if err := requireCustomer(actor, in.CustomerID); err != nil {
		return query.Order{}, err
	}
	orderID := OrderID(in.CustomerID, strings.TrimSpace(in.IdempotencyKey))
	cmd, err := h.priced(ctx, orderID, in)
	if err != nil {
		return query.Order{}, err
	}
	// The message id is the order id: retries of one key, concurrent or
	// late, are the same message, which the handler's inbox applies once;
	// each answers with the order as recorded. The saga starts in the
	// placement's transaction and sends its first commands after the
	// commit.
	placed, err := executeForView(h.d, cmd, OrderView, func(with handlers.With[*ordering.Order]) (handlers.Result, error) {
		with.InTx = h.d.sagas.StartInTx
		return h.d.h.PlaceOrder(ctx, handlers.Message{ID: orderID, CorrelationID: orderID}, cmd, with)
	})
	if err != nil {
		return query.Order{}, err
	}
	return h.d.withContact(ctx, placed), nil
}

// priced checks the placement against the domain's bounds
// (ordering.ValidatePlacement) before the catalog is asked anything, so an
// oversized request costs no lookups, then looks every line up in the
// catalog and the customer in payments.
func (h PlaceOrderHandler) priced(ctx context.Context, orderID string, in PlaceOrder) (messages.PlaceOrder, error) {
	cmd := messages.PlaceOrder{
		OrderID:         orderID,
		CustomerID:      in.CustomerID,
		Items:           make([]messages.OrderLine, len(in.Items)),
		ShippingAddress: in.ShippingAddress,
		BillingAddress:  in.BillingAddress,
		PaymentMethod:   in.PaymentMethod,
		IdempotencyKey:  strings.TrimSpace(in.IdempotencyKey),
	}
	for i, item := range in.Items {
		cmd.Items[i] = messages.OrderLine{ProductID: item.ProductID, Quantity: item.Quantity}
	}
	if err := ordering.ValidatePlacement(cmd); err != nil {
		return messages.PlaceOrder{}, err
	}
	if err := h.d.catalog.customerExists(ctx, h.d.h, in.CustomerID); err != nil {
		return messages.PlaceOrder{}, err
	}
	for i := range cmd.Items {
		line := &cmd.Items[i]
		p, err := h.d.catalog.product(ctx, h.d.h, line.ProductID)
		if err != nil {
			return messages.PlaceOrder{}, err
		}
		if p == nil {
			return messages.PlaceOrder{}, errcode.New(errcode.InvalidOrderData, "item %d: product %q does not exist", i, line.ProductID).With("field", "items")
		}
		if stated := in.Items[i].StatedUnitPrice; stated != nil && *stated != p.price {
			return messages.PlaceOrder{}, errcode.New(errcode.InvalidOrderData,
				"item %d: product %q costs %s, not the stated unit price %s", i, line.ProductID, p.price, *stated).
				With("field", fmt.Sprintf("items[%d].unitPrice", i)).
				With("product_id", line.ProductID).
				With("catalog_price", p.price.String()).
				With("stated_price", stated.String())
		}
		line.ProductName, line.SKU, line.UnitPrice = p.name, p.sku, p.price
	}
	return cmd, nil
}
