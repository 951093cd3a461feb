package messages

import "github.com/orderflow/orderflow/internal/money"

// RegisterCustomer opens a customer account.
type RegisterCustomer struct {
	CustomerID    string       `json:"customerId"`
	Email         string       `json:"email"`
	Name          string       `json:"name"`
	InitialCredit money.Amount `json:"initialCredit"`
}

// AddFunds tops up a customer's balance.
type AddFunds struct {
	CustomerID string       `json:"customerId"`
	Amount     money.Amount `json:"amount"`
}

// AuthorizePayment is sent by the saga to hold the order total.
type AuthorizePayment struct {
	CustomerID string       `json:"customerId"`
	OrderID    string       `json:"orderId"`
	Amount     money.Amount `json:"amount"`
}

// VoidPayment is the saga's compensation for AuthorizePayment; it releases
// whatever the order holds, so no amount is sent.
type VoidPayment struct {
	CustomerID string `json:"customerId"`
	OrderID    string `json:"orderId"`
}

// CapturePayment is sent by the saga after the order is confirmed.
type CapturePayment struct {
	CustomerID string `json:"customerId"`
	OrderID    string `json:"orderId"`
}

// CommandName implements Command.
func (RegisterCustomer) CommandName() string { return "payments.RegisterCustomer" }

// CommandName implements Command.
func (AddFunds) CommandName() string { return "payments.AddFunds" }

// CommandName implements Command.
func (AuthorizePayment) CommandName() string { return "payments.AuthorizePayment" }

// CommandName implements Command.
func (VoidPayment) CommandName() string { return "payments.VoidPayment" }

// CommandName implements Command.
func (CapturePayment) CommandName() string { return "payments.CapturePayment" }

// AggregateID implements Command: the customer id.
func (c RegisterCustomer) AggregateID() string { return c.CustomerID }

// AggregateID implements Command: the customer id.
func (c AddFunds) AggregateID() string { return c.CustomerID }

// AggregateID implements Command: the customer id.
func (c AuthorizePayment) AggregateID() string { return c.CustomerID }

// AggregateID implements Command: the customer id.
func (c VoidPayment) AggregateID() string { return c.CustomerID }

// AggregateID implements Command: the customer id.
func (c CapturePayment) AggregateID() string { return c.CustomerID }
