package messages

import "github.com/orderflow/orderflow/internal/errcode"

// PlaceOrder asks to create an order. The application layer fills each
// line's ProductName, SKU and UnitPrice from the catalog before sending it;
// the client supplies only product ids and quantities. The aggregate
// computes the total. An empty BillingAddress means "same as shipping", an
// empty Currency means money.DefaultCurrency.
type PlaceOrder struct {
	OrderID         string        `json:"orderId"`
	CustomerID      string        `json:"customerId"`
	Items           []OrderLine   `json:"items"`
	Currency        string        `json:"currency,omitempty"`
	ShippingAddress Address       `json:"shippingAddress"`
	BillingAddress  Address       `json:"billingAddress"`
	PaymentMethod   PaymentMethod `json:"paymentMethod"`
	IdempotencyKey  string        `json:"idempotencyKey,omitempty"`
}

// MarkOrderStep is sent by the saga when a step has completed.
type MarkOrderStep struct {
	OrderID string   `json:"orderId"`
	Step    SagaStep `json:"step"`
}

// RecordOrderCompensation is sent by the saga after it undid a step.
type RecordOrderCompensation struct {
	OrderID string   `json:"orderId"`
	Step    SagaStep `json:"step"`
	Action  string   `json:"action"`
	Reason  string   `json:"reason,omitempty"`
}

// ConfirmOrder is sent by the saga once stock and payment are secured.
type ConfirmOrder struct {
	OrderID string `json:"orderId"`
}

// CancelOrder is a customer's or operator's request to cancel; the saga does
// the actual unwinding.
type CancelOrder struct {
	OrderID     string `json:"orderId"`
	Reason      string `json:"reason,omitempty"`
	RequestedBy string `json:"requestedBy,omitempty"`
}

// CompleteOrderCancellation is sent by the saga to end an order CANCELLED
// after compensating. Code may be empty for a customer-requested cancel.
type CompleteOrderCancellation struct {
	OrderID string       `json:"orderId"`
	Code    errcode.Code `json:"code,omitempty"`
	Message string       `json:"message,omitempty"`
}

// FailOrder is sent by the saga to end an order FAILED with a code.
type FailOrder struct {
	OrderID string       `json:"orderId"`
	Code    errcode.Code `json:"code"`
	Message string       `json:"message,omitempty"`
}

// CommandName implements Command.
func (PlaceOrder) CommandName() string { return "ordering.PlaceOrder" }

// CommandName implements Command.
func (MarkOrderStep) CommandName() string { return "ordering.MarkOrderStep" }

// CommandName implements Command.
func (RecordOrderCompensation) CommandName() string { return "ordering.RecordOrderCompensation" }

// CommandName implements Command.
func (ConfirmOrder) CommandName() string { return "ordering.ConfirmOrder" }

// CommandName implements Command.
func (CancelOrder) CommandName() string { return "ordering.CancelOrder" }

// CommandName implements Command.
func (CompleteOrderCancellation) CommandName() string { return "ordering.CompleteOrderCancellation" }

// CommandName implements Command.
func (FailOrder) CommandName() string { return "ordering.FailOrder" }

// AggregateID implements Command: the order id.
func (c PlaceOrder) AggregateID() string { return c.OrderID }

// AggregateID implements Command: the order id.
func (c MarkOrderStep) AggregateID() string { return c.OrderID }

// AggregateID implements Command: the order id.
func (c RecordOrderCompensation) AggregateID() string { return c.OrderID }

// AggregateID implements Command: the order id.
func (c ConfirmOrder) AggregateID() string { return c.OrderID }

// AggregateID implements Command: the order id.
func (c CancelOrder) AggregateID() string { return c.OrderID }

// AggregateID implements Command: the order id.
func (c CompleteOrderCancellation) AggregateID() string { return c.OrderID }

// AggregateID implements Command: the order id.
func (c FailOrder) AggregateID() string { return c.OrderID }
