// Package payments holds the Customer account aggregate: a balance and the
// holds placed on it per order (authorize, then capture or void). Its
// invariant is that the balance never drops below zero, so a customer can
// never spend the same money on two orders.
//
// The aggregate is event sourced in the decide/evolve style: decision methods
// read state and return new events without changing anything; Apply folds
// stored or newly decided events into state.
package payments

import (
	"strings"

	"github.com/orderflow/orderflow/command/domain/limits"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/messages"
)

// holdState is where one order's payment stands. Each order gets exactly one
// authorization decision, so a re-sent command can never hold twice, or hold
// again after the payment was voided or captured.
type holdState int

const (
	held holdState = iota + 1
	captured
	voided
	rejected
)

type hold struct {
	amount money.Amount
	state  holdState
}

// Customer is the payments aggregate. The zero value is a customer that does
// not exist yet; Register is its only valid first decision.
type Customer struct {
	id    string
	email string
	name  string

	balance  money.Amount // spendable now
	held     money.Amount // authorized for orders in flight
	captured money.Amount // paid over the account's lifetime

	holds   map[string]hold // by order id
	version int
}

// ID returns the customer id, empty before registration.
func (c *Customer) ID() string { return c.id }

// Email returns the registered email address.
func (c *Customer) Email() string { return c.email }

// Name returns the customer's name.
func (c *Customer) Name() string { return c.name }

// Balance returns the money that can still be authorized.
func (c *Customer) Balance() money.Amount { return c.balance }

// Held returns the money authorized for orders in flight.
func (c *Customer) Held() money.Amount { return c.held }

// Captured returns the money paid for confirmed orders.
func (c *Customer) Captured() money.Amount { return c.captured }

// HeldFor returns the amount currently held for one order, zero when none is
// (never authorized, rejected, voided or already captured).
func (c *Customer) HeldFor(orderID string) money.Amount {
	if h := c.holds[orderID]; h.state == held {
		return h.amount
	}
	return 0
}

// Version returns the number of events applied, which is the stream version
// the next append must expect.
func (c *Customer) Version() int { return c.version }

func (c *Customer) exists() bool { return c.id != "" }

// Register decides the account's first event. The email and name are
// trimmed and bounded (limits.MaxEmailLength, limits.MaxCustomerNameLength)
// and the initial credit is 0 to limits.MaxAmount.
func (c *Customer) Register(cmd messages.RegisterCustomer) ([]messages.Event, error) {
	if c.exists() {
		return nil, errcode.New(errcode.Conflict, "customer %s already exists", c.id)
	}
	email, name := strings.TrimSpace(cmd.Email), strings.TrimSpace(cmd.Name)
	for _, err := range []error{
		limits.RequiredText("customerId", cmd.CustomerID, limits.MaxIDLength),
		limits.Email("email", email),
		limits.RequiredText("name", name, limits.MaxCustomerNameLength),
		limits.Amount("initialCredit", cmd.InitialCredit, 0, limits.MaxAmount),
	} {
		if err != nil {
			return nil, err
		}
	}
	return []messages.Event{messages.CustomerRegistered{
		CustomerID:    cmd.CustomerID,
		Email:         email,
		Name:          name,
		InitialCredit: cmd.InitialCredit,
	}}, nil
}

// AddFunds decides to raise the balance by 0.01 to limits.MaxAmount. The
// money the account ever received (balance, held and captured) stays at
// most limits.MaxBalance, so none of its sums can overflow.
func (c *Customer) AddFunds(amount money.Amount) ([]messages.Event, error) {
	if err := c.mustExist(); err != nil {
		return nil, err
	}
	if err := limits.Amount("amount", amount, 1, limits.MaxAmount); err != nil {
		return nil, err
	}
	// Each term is at most MaxBalance, so the sum cannot overflow.
	if received := c.balance + c.held + c.captured; amount > limits.MaxBalance-received {
		return nil, limits.Invalid("amount", limits.MaxBalance.String(),
			"amount %s would give customer %s more than %s in its lifetime (%s received so far)",
			amount, c.id, limits.MaxBalance, received)
	}
	return []messages.Event{messages.FundsAdded{CustomerID: c.id, Amount: amount}}, nil
}

// Authorize decides whether amount may be held for orderID. A balance too
// low is a refusal recorded as PaymentAuthorizationRejected, not an error, so
// the saga hears about it through the event stream. An order that already
// got a decision gets no new events.
func (c *Customer) Authorize(orderID string, amount money.Amount) ([]messages.Event, error) {
	if err := c.mustExist(); err != nil {
		return nil, err
	}
	if blank(orderID) {
		return nil, invalid("orderId", "order id is required")
	}
	if amount <= 0 {
		return nil, invalid("amount", "amount must be positive")
	}
	if _, decided := c.holds[orderID]; decided {
		return nil, nil
	}
	if c.balance < amount {
		return []messages.Event{messages.PaymentAuthorizationRejected{
			CustomerID: c.id,
			OrderID:    orderID,
			Amount:     amount,
			Balance:    c.balance,
			Reason:     messages.ReasonInsufficientFunds,
		}}, nil
	}
	return []messages.Event{messages.PaymentAuthorized{CustomerID: c.id, OrderID: orderID, Amount: amount}}, nil
}

// Decline decides to record the payment provider's refusal of an order's
// authorization, for reason. The request is checked as Authorize checks it,
// and an order that already got a decision keeps it.
func (c *Customer) Decline(orderID string, amount money.Amount, reason string) ([]messages.Event, error) {
	events, err := c.Authorize(orderID, amount)
	if err != nil || len(events) == 0 {
		return events, err
	}
	return []messages.Event{messages.PaymentAuthorizationRejected{
		CustomerID: c.id,
		OrderID:    orderID,
		Amount:     amount,
		Balance:    c.balance,
		Reason:     reason,
	}}, nil
}

// Capture decides to take an order's hold as payment. Capturing twice is a
// no-op; capturing an order with nothing held is a CONFLICT, because money
// that was never authorized cannot be taken.
func (c *Customer) Capture(orderID string) ([]messages.Event, error) {
	if err := c.mustExist(); err != nil {
		return nil, err
	}
	h := c.holds[orderID]
	switch h.state {
	case held:
		return []messages.Event{messages.PaymentCaptured{CustomerID: c.id, OrderID: orderID, Amount: h.amount}}, nil
	case captured:
		return nil, nil
	default:
		return nil, errcode.New(errcode.Conflict, "order %s holds no authorized payment of customer %s", orderID, c.id).
			With("orderId", orderID)
	}
}

// Void decides to return an order's hold to the balance. Voiding with
// nothing held (never authorized, rejected, voided or captured) is a no-op,
// so compensation can always be sent safely.
func (c *Customer) Void(orderID string) ([]messages.Event, error) {
	if err := c.mustExist(); err != nil {
		return nil, err
	}
	h, ok := c.holds[orderID]
	if !ok || h.state != held {
		return nil, nil
	}
	return []messages.Event{messages.PaymentVoided{CustomerID: c.id, OrderID: orderID, Amount: h.amount}}, nil
}

// Apply evolves the account by one event of its stream. Events of other
// types are ignored but still counted, so Version always equals the stream
// length. Apply trusts its input: events were validated when decided.
func (c *Customer) Apply(e messages.Event) {
	c.version++
	if c.holds == nil {
		c.holds = make(map[string]hold)
	}
	switch e := e.(type) {
	case messages.CustomerRegistered:
		c.id, c.email, c.name = e.CustomerID, e.Email, e.Name
		c.balance = e.InitialCredit
	case messages.FundsAdded:
		c.balance += e.Amount
	case messages.PaymentAuthorized:
		c.balance -= e.Amount
		c.held += e.Amount
		c.holds[e.OrderID] = hold{amount: e.Amount, state: held}
	case messages.PaymentAuthorizationRejected:
		c.holds[e.OrderID] = hold{amount: e.Amount, state: rejected}
	case messages.PaymentCaptured:
		c.held -= e.Amount
		c.captured += e.Amount
		c.holds[e.OrderID] = hold{amount: e.Amount, state: captured}
	case messages.PaymentVoided:
		c.held -= e.Amount
		c.balance += e.Amount
		c.holds[e.OrderID] = hold{amount: e.Amount, state: voided}
	}
}

func (c *Customer) mustExist() error {
	if !c.exists() {
		return errcode.New(errcode.NotFound, "customer not found")
	}
	return nil
}
