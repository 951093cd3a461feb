package messages

import (
	"strings"
	"time"

	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
)

// OrderLine is one product in an order. UnitPrice comes from the catalog at
// placement time, never from the client, and is frozen in the order so later
// price changes do not alter it. An order holds at most one line per product,
// so the saga sends one reservation per line.
type OrderLine struct {
	ProductID   string       `json:"productId"`
	ProductName string       `json:"productName"`
	SKU         string       `json:"sku"`
	Quantity    int          `json:"quantity"`
	UnitPrice   money.Amount `json:"unitPrice"`
}

// Address is a postal address. State is optional; the other fields are
// required for shipping.
type Address struct {
	Street  string `json:"street"`
	City    string `json:"city"`
	Zip     string `json:"zip"`
	Country string `json:"country"`
	State   string `json:"state,omitempty"`
}

// PaymentMethod describes how the customer pays. Token is only ever the
// masked form produced by MaskPaymentToken ("****4242"): events are kept
// forever and replayed into search indexes, so a raw token must never reach
// one.
type PaymentMethod struct {
	Type  string `json:"type"`
	Token string `json:"token,omitempty"`
}

// MaskPaymentToken reduces a payment token to "****" plus its last four
// characters; a token of four characters or fewer keeps none of them. It is
// idempotent (masking a masked token changes nothing), so every layer may
// apply it defensively.
func MaskPaymentToken(token string) string {
	token = strings.TrimSpace(token)
	if token == "" {
		return ""
	}
	rest, masked := strings.CutPrefix(token, maskPrefix)
	r := []rune(rest)
	switch {
	case len(r) > 4:
		r = r[len(r)-4:]
	case !masked:
		r = nil
	}
	return maskPrefix + string(r)
}

const maskPrefix = "****"

// OrderPlaced starts an order stream and the saga. Total is computed by the
// Order aggregate from the lines; ORDER_CREATED counts as completed with it.
type OrderPlaced struct {
	OrderID         string        `json:"orderId"`
	CustomerID      string        `json:"customerId"`
	Items           []OrderLine   `json:"items"`
	Total           money.Amount  `json:"total"`
	Currency        string        `json:"currency"`
	ShippingAddress Address       `json:"shippingAddress"`
	BillingAddress  Address       `json:"billingAddress"`
	PaymentMethod   PaymentMethod `json:"paymentMethod"`
	// IdempotencyKey is the client's key for the placing request, kept so a
	// retried request can be matched to the order it already created.
	IdempotencyKey string    `json:"idempotencyKey,omitempty"`
	PlacedAt       time.Time `json:"placedAt"`
}

// OrderStepCompleted records the saga's progress on the order itself, so the
// read model can show the current, completed and pending steps.
type OrderStepCompleted struct {
	OrderID string    `json:"orderId"`
	Step    SagaStep  `json:"step"`
	At      time.Time `json:"at"`
}

// OrderCompensated records that the saga undid the effect of a step, for
// example Action "ReleaseStock" for INVENTORY_RESERVED. Reason says why.
type OrderCompensated struct {
	OrderID string    `json:"orderId"`
	Step    SagaStep  `json:"step"`
	Action  string    `json:"action"`
	Reason  string    `json:"reason,omitempty"`
	At      time.Time `json:"at"`
}

// OrderCancellationRequested records a customer's (or operator's) wish to
// cancel. It does not end the order: the saga sees it, compensates, and ends
// the order with OrderCancelled. Once recorded, the order can no longer be
// confirmed.
type OrderCancellationRequested struct {
	OrderID string `json:"orderId"`
	Reason  string `json:"reason,omitempty"`
	// By identifies who asked (a customer or operator id), for the timeline.
	By string    `json:"by,omitempty"`
	At time.Time `json:"at"`
}

// OrderConfirmed ends an order successfully; it also completes the
// ORDER_CONFIRMED step.
type OrderConfirmed struct {
	OrderID string    `json:"orderId"`
	At      time.Time `json:"at"`
}

// OrderCancelled ends an order because of a refusal (Code says which) or a
// cancellation request (no Code: the order has no failure). Step is the
// last step completed when it ended.
type OrderCancelled struct {
	OrderID string       `json:"orderId"`
	Code    errcode.Code `json:"code,omitempty"`
	Message string       `json:"message,omitempty"`
	Step    SagaStep     `json:"step"`
	At      time.Time    `json:"at"`
}

// OrderFailed ends an order because something went wrong rather than being
// refused (SAGA_TIMEOUT, COMPENSATION_FAILED, INTERNAL). Step is the last
// step completed when it ended.
type OrderFailed struct {
	OrderID string       `json:"orderId"`
	Code    errcode.Code `json:"code"`
	Message string       `json:"message,omitempty"`
	Step    SagaStep     `json:"step"`
	At      time.Time    `json:"at"`
}

// EventType implements Event.
func (OrderPlaced) EventType() string { return "ordering.OrderPlaced" }

// EventType implements Event.
func (OrderStepCompleted) EventType() string { return "ordering.OrderStepCompleted" }

// EventType implements Event.
func (OrderCompensated) EventType() string { return "ordering.OrderCompensated" }

// EventType implements Event.
func (OrderCancellationRequested) EventType() string { return "ordering.OrderCancellationRequested" }

// EventType implements Event.
func (OrderConfirmed) EventType() string { return "ordering.OrderConfirmed" }

// EventType implements Event.
func (OrderCancelled) EventType() string { return "ordering.OrderCancelled" }

// EventType implements Event.
func (OrderFailed) EventType() string { return "ordering.OrderFailed" }

// AggregateID implements Event: the order stream.
func (e OrderPlaced) AggregateID() string { return e.OrderID }

// AggregateID implements Event: the order stream.
func (e OrderStepCompleted) AggregateID() string { return e.OrderID }

// AggregateID implements Event: the order stream.
func (e OrderCompensated) AggregateID() string { return e.OrderID }

// AggregateID implements Event: the order stream.
func (e OrderCancellationRequested) AggregateID() string { return e.OrderID }

// AggregateID implements Event: the order stream.
func (e OrderConfirmed) AggregateID() string { return e.OrderID }

// AggregateID implements Event: the order stream.
func (e OrderCancelled) AggregateID() string { return e.OrderID }

// AggregateID implements Event: the order stream.
func (e OrderFailed) AggregateID() string { return e.OrderID }
