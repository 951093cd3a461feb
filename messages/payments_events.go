package messages

import "github.com/orderflow/orderflow/internal/money"

// CustomerRegistered opens a customer account with its starting credit.
type CustomerRegistered struct {
	CustomerID    string       `json:"customerId"`
	Email         string       `json:"email"`
	Name          string       `json:"name"`
	InitialCredit money.Amount `json:"initialCredit"`
}

// FundsAdded raises the customer's balance.
type FundsAdded struct {
	CustomerID string       `json:"customerId"`
	Amount     money.Amount `json:"amount"`
}

// PaymentAuthorized moves Amount from the balance into a hold for one order,
// so it cannot be spent twice while the order is in flight.
type PaymentAuthorized struct {
	CustomerID string       `json:"customerId"`
	OrderID    string       `json:"orderId"`
	Amount     money.Amount `json:"amount"`
}

// PaymentAuthorizationRejected records a refusal: the balance was too low.
// It is a fact on the customer stream, not an error, so the saga can react.
// Balance is the balance at the time of the decision.
type PaymentAuthorizationRejected struct {
	CustomerID string       `json:"customerId"`
	OrderID    string       `json:"orderId"`
	Amount     money.Amount `json:"amount"`
	Balance    money.Amount `json:"balance"`
	Reason     string       `json:"reason"`
}

// PaymentCaptured turns an order's hold into a payment.
type PaymentCaptured struct {
	CustomerID string       `json:"customerId"`
	OrderID    string       `json:"orderId"`
	Amount     money.Amount `json:"amount"`
}

// PaymentVoided returns an order's hold to the balance (compensation).
type PaymentVoided struct {
	CustomerID string       `json:"customerId"`
	OrderID    string       `json:"orderId"`
	Amount     money.Amount `json:"amount"`
}

// EventType implements Event.
func (CustomerRegistered) EventType() string { return "payments.CustomerRegistered" }

// EventType implements Event.
func (FundsAdded) EventType() string { return "payments.FundsAdded" }

// EventType implements Event.
func (PaymentAuthorized) EventType() string { return "payments.PaymentAuthorized" }

// EventType implements Event.
func (PaymentAuthorizationRejected) EventType() string {
	return "payments.PaymentAuthorizationRejected"
}

// EventType implements Event.
func (PaymentCaptured) EventType() string { return "payments.PaymentCaptured" }

// EventType implements Event.
func (PaymentVoided) EventType() string { return "payments.PaymentVoided" }

// AggregateID implements Event: the customer stream.
func (e CustomerRegistered) AggregateID() string { return e.CustomerID }

// AggregateID implements Event: the customer stream.
func (e FundsAdded) AggregateID() string { return e.CustomerID }

// AggregateID implements Event: the customer stream.
func (e PaymentAuthorized) AggregateID() string { return e.CustomerID }

// AggregateID implements Event: the customer stream.
func (e PaymentAuthorizationRejected) AggregateID() string { return e.CustomerID }

// AggregateID implements Event: the customer stream.
func (e PaymentCaptured) AggregateID() string { return e.CustomerID }

// AggregateID implements Event: the customer stream.
func (e PaymentVoided) AggregateID() string { return e.CustomerID }
