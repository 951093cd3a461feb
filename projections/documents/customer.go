package documents

import (
	"time"

	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/messages"
)

// Customer is a payments account as stored in the customers index.
type Customer struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
	// Balance is what can still be authorized.
	Balance money.Amount `json:"balance"`
	// Held is authorized for orders in flight.
	Held money.Amount `json:"held"`
	// Captured is what confirmed orders paid over the account's lifetime.
	Captured  money.Amount `json:"captured"`
	CreatedAt time.Time    `json:"createdAt"`
	UpdatedAt time.Time    `json:"updatedAt"`
	Version   int          `json:"version"`
}

// NewCustomer is the document of a customer stream before its
// first event.
func NewCustomer(id string) Customer { return Customer{ID: id} }

// ApplyCustomerEvent returns doc with e applied; it mirrors
// payments.Customer.Apply. Pure, and trusts e to be the next version.
func ApplyCustomerEvent(doc Customer, e Event) Customer {
	d := doc
	d.ID = e.StreamID
	d.Version = e.Version
	d.UpdatedAt = e.OccurredAt
	switch p := e.Payload.(type) {
	case messages.CustomerRegistered:
		d.Email, d.Name = p.Email, p.Name
		d.Balance = p.InitialCredit
		d.CreatedAt = e.OccurredAt
	case messages.FundsAdded:
		d.Balance += p.Amount
	case messages.PaymentAuthorized:
		d.Balance -= p.Amount
		d.Held += p.Amount
	case messages.PaymentCaptured:
		d.Held -= p.Amount
		d.Captured += p.Amount
	case messages.PaymentVoided:
		d.Held -= p.Amount
		d.Balance += p.Amount
	}
	return d
}

// FoldCustomer is FoldOrder for customers.
func FoldCustomer(doc Customer, events ...Event) (Customer, error) {
	return fold(ApplyCustomerEvent, func(d Customer) int { return d.Version }, doc, events)
}
