// Package ordering holds the Order aggregate: what was ordered at which
// catalog price, where it goes, and how far the order saga has got. The
// aggregate is the single judge of an order's state machine, so a late,
// duplicated or out-of-order saga message can never move an order backwards
// or out of a final state.
//
// The aggregate is event sourced in the decide/evolve style: decision methods
// read state and return new events without changing anything; Apply folds
// stored or newly decided events into state. The caller appends the decided
// events at the expected Version and only then applies them.
//
// State machine:
//
//	Place                      -> PENDING, ORDER_CREATED completed
//	CompleteStep(INVENTORY_RESERVED) -> PROCESSING (the first step after creation)
//	CompleteStep(PAYMENT_AUTHORIZED)
//	Confirm                    -> CONFIRMED, ORDER_CONFIRMED completed (terminal)
//	Cancel                     -> CANCELLED (terminal), from PENDING or PROCESSING
//	Fail                       -> FAILED (terminal), from PENDING or PROCESSING
//
// RequestCancellation and RecordCompensation leave the status alone: the
// saga reacts to a request by compensating and then calls Cancel.
package ordering

import (
	"slices"
	"time"

	"github.com/orderflow/orderflow/command/domain/limits"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/messages"
)

// Failure explains why an order ended FAILED, or CANCELLED after a refusal.
// Code is always one of the contract's codes: a plain cancellation at the
// customer's (or an admin's) request is no failure, and the order has none.
// It is the one definition the orders read model and the API answers use
// too (projections/documents.Failure, query.Failure): its JSON names
// are fields of the orders index mapping, never rename one in place.
type Failure struct {
	Code    errcode.Code `json:"code,omitempty"`
	Message string       `json:"message,omitempty"`
	// Step is the last step completed when the order ended.
	Step messages.SagaStep `json:"step,omitempty"`
	At   time.Time         `json:"at"`
}

// Compensation is one undone step, kept for the order's timeline. Like
// Failure, it is the read model's too (projections/documents.Compensation,
// query.Compensation), its JSON names the index mapping's.
type Compensation struct {
	Step   messages.SagaStep `json:"step"`
	Action string            `json:"action"`
	Reason string            `json:"reason,omitempty"`
	At     time.Time         `json:"at"`
}

// Order is the ordering aggregate. The zero value is an order that has not
// been placed; Place is its only valid first decision.
type Order struct {
	id             string
	customerID     string
	items          []messages.OrderLine
	total          money.Amount
	currency       string
	shipping       messages.Address
	billing        messages.Address
	paymentMethod  messages.PaymentMethod
	idempotencyKey string
	placedAt       time.Time
	progress       Progress
	version        int
}

// ID returns the order id, empty before placement.
func (o *Order) ID() string { return o.id }

// CustomerID returns the customer who placed the order.
func (o *Order) CustomerID() string { return o.customerID }

// Items returns a copy of the order lines, at most one per product.
func (o *Order) Items() []messages.OrderLine { return slices.Clone(o.items) }

// Total returns the sum of quantity times unit price over all lines.
func (o *Order) Total() money.Amount { return o.total }

// Currency returns the currency of Total and the unit prices.
func (o *Order) Currency() string { return o.currency }

// ShippingAddress returns where the order goes.
func (o *Order) ShippingAddress() messages.Address { return o.shipping }

// BillingAddress returns the billing address (the shipping address unless
// the customer gave another).
func (o *Order) BillingAddress() messages.Address { return o.billing }

// PaymentMethod returns the payment method, its token masked.
func (o *Order) PaymentMethod() messages.PaymentMethod { return o.paymentMethod }

// IdempotencyKey returns the client's key for the placing request.
func (o *Order) IdempotencyKey() string { return o.idempotencyKey }

// PlacedAt returns when the order was placed.
func (o *Order) PlacedAt() time.Time { return o.placedAt }

// UpdatedAt returns the time of the latest timestamped event.
func (o *Order) UpdatedAt() time.Time { return o.progress.UpdatedAt }

// Status returns the order status, empty before placement.
func (o *Order) Status() messages.OrderStatus { return o.progress.Status }

// CurrentStep returns the latest completed saga step: where the order
// stands, not what it waits for. Empty before placement.
func (o *Order) CurrentStep() messages.SagaStep { return o.progress.CurrentStep() }

// CompletedSteps returns the completed steps in saga order.
func (o *Order) CompletedSteps() []messages.SagaStep { return slices.Clone(o.progress.Completed) }

// PendingSteps returns the steps still expected to happen, in saga order. A
// final order expects nothing, so it has none.
func (o *Order) PendingSteps() []messages.SagaStep {
	if steps := o.progress.PendingSteps(); len(steps) > 0 {
		return steps
	}
	return nil
}

// CancellationRequested reports whether someone asked to cancel; once true
// the order can no longer be confirmed.
func (o *Order) CancellationRequested() bool { return o.progress.CancellationRequested }

// Compensations returns the compensations recorded so far, oldest first.
func (o *Order) Compensations() []Compensation { return slices.Clone(o.progress.Compensations) }

// Failure returns why the order failed or was cancelled after a refusal,
// nil otherwise (a cancellation on request included).
func (o *Order) Failure() *Failure {
	if o.progress.Failure == nil {
		return nil
	}
	f := *o.progress.Failure
	return &f
}

// Version returns the number of events applied, which is the stream version
// the next append must expect.
func (o *Order) Version() int { return o.version }

func (o *Order) placed() bool { return o.id != "" }

func (o *Order) hasCompleted(step messages.SagaStep) bool {
	return slices.Contains(o.progress.Completed, step)
}

func (o *Order) mustBePlaced() error {
	if !o.placed() {
		return errcode.New(errcode.NotFound, "order not found")
	}
	return nil
}

// Place decides the order's first event from a command whose lines already
// carry catalog names and prices. It checks every bound of command/domain/limits
// (ValidatePlacement, then the catalog's names and prices and the total);
// the aggregate computes the total and masks the payment token, so neither
// can be dictated by a client.
func (o *Order) Place(cmd messages.PlaceOrder, now time.Time) ([]messages.Event, error) {
	if o.placed() {
		return nil, errcode.New(errcode.Conflict, "order %s already placed", o.id)
	}
	if err := ValidatePlacement(cmd); err != nil {
		return nil, err
	}
	total, err := priceLines(cmd.Items)
	if err != nil {
		return nil, err
	}
	currency := cmd.Currency
	if currency == "" {
		currency = money.DefaultCurrency
	}
	billing := cmd.BillingAddress
	if billing == (messages.Address{}) {
		billing = cmd.ShippingAddress
	}
	payment := cmd.PaymentMethod
	payment.Token = messages.MaskPaymentToken(payment.Token)

	return []messages.Event{messages.OrderPlaced{
		OrderID:         cmd.OrderID,
		CustomerID:      cmd.CustomerID,
		Items:           slices.Clone(cmd.Items),
		Total:           total,
		Currency:        currency,
		ShippingAddress: cmd.ShippingAddress,
		BillingAddress:  billing,
		PaymentMethod:   payment,
		IdempotencyKey:  cmd.IdempotencyKey,
		PlacedAt:        now.UTC(),
	}}, nil
}

// CompleteStep decides to record a completed saga step. Completing a step
// twice yields no events, so the saga may re-send; completing one out of
// order is a CONFLICT. Once the order is final nothing more is recorded,
// except that ORDER_CONFIRMED is handled exactly like Confirm, so it can
// never be quietly dropped on a cancelled order.
func (o *Order) CompleteStep(step messages.SagaStep, now time.Time) ([]messages.Event, error) {
	if err := o.mustBePlaced(); err != nil {
		return nil, err
	}
	if !step.Valid() {
		return nil, invalid("step", "unknown saga step "+string(step))
	}
	if step == messages.StepOrderConfirmed {
		return o.Confirm(now)
	}
	if o.progress.Status.Terminal() || o.hasCompleted(step) {
		return nil, nil
	}
	if next := messages.AllSagaSteps()[len(o.progress.Completed)]; step != next {
		return nil, errcode.New(errcode.Conflict, "order %s: step %s cannot complete before %s", o.id, step, next)
	}
	return []messages.Event{messages.OrderStepCompleted{OrderID: o.id, Step: step, At: now.UTC()}}, nil
}

// Confirm decides to end the order successfully. It needs stock and payment
// secured and no cancellation request: a recorded request always wins over a
// later confirmation. Confirming twice yields no events; confirming a
// cancelled or failed order is a CONFLICT.
func (o *Order) Confirm(now time.Time) ([]messages.Event, error) {
	if err := o.mustBePlaced(); err != nil {
		return nil, err
	}
	switch {
	case o.progress.Status == messages.StatusConfirmed:
		return nil, nil
	case o.progress.Status.Terminal():
		return nil, errcode.New(errcode.Conflict, "order %s is %s and cannot be confirmed", o.id, o.progress.Status)
	case o.progress.CancellationRequested:
		return nil, errcode.New(errcode.Conflict, "order %s has a cancellation request and cannot be confirmed", o.id)
	}
	for _, step := range []messages.SagaStep{messages.StepInventoryReserved, messages.StepPaymentAuthorized} {
		if !o.hasCompleted(step) {
			return nil, errcode.New(errcode.Conflict, "order %s cannot be confirmed before %s", o.id, step)
		}
	}
	return []messages.Event{messages.OrderConfirmed{OrderID: o.id, At: now.UTC()}}, nil
}

// RequestCancellation decides to record a wish to cancel, which the saga
// then carries out. It is refused once the order is CONFIRMED, and yields no
// events when the order already ended otherwise or was already asked to.
// The reason is optional text of at most limits.MaxReasonLength characters.
func (o *Order) RequestCancellation(reason, by string, now time.Time) ([]messages.Event, error) {
	if err := o.mustBePlaced(); err != nil {
		return nil, err
	}
	if err := limits.Text("reason", reason, limits.MaxReasonLength); err != nil {
		return nil, err
	}
	switch {
	case o.progress.Status == messages.StatusConfirmed:
		return nil, errcode.New(errcode.Conflict, "order %s is already confirmed", o.id)
	case o.progress.Status.Terminal(), o.progress.CancellationRequested:
		return nil, nil
	}
	return []messages.Event{messages.OrderCancellationRequested{OrderID: o.id, Reason: reason, By: by, At: now.UTC()}}, nil
}

// Cancel decides to end the order CANCELLED, after a refusal or a
// cancellation request. Code may be empty for a plain customer cancellation.
// Cancelling twice yields no events; cancelling a confirmed or failed order
// is a CONFLICT.
func (o *Order) Cancel(code errcode.Code, msg string, now time.Time) ([]messages.Event, error) {
	if err := o.mustBePlaced(); err != nil {
		return nil, err
	}
	if code != "" && !code.Valid() {
		return nil, invalid("code", "unknown error code "+string(code))
	}
	switch {
	case o.progress.Status == messages.StatusCancelled:
		return nil, nil
	case o.progress.Status.Terminal():
		return nil, errcode.New(errcode.Conflict, "order %s is %s and cannot be cancelled", o.id, o.progress.Status)
	}
	return []messages.Event{messages.OrderCancelled{
		OrderID: o.id, Code: code, Message: msg, Step: o.CurrentStep(), At: now.UTC(),
	}}, nil
}

// Fail decides to end the order FAILED with a required code, typically
// SAGA_TIMEOUT or COMPENSATION_FAILED. Failing twice yields no events;
// failing a confirmed or cancelled order is a CONFLICT.
func (o *Order) Fail(code errcode.Code, msg string, now time.Time) ([]messages.Event, error) {
	if err := o.mustBePlaced(); err != nil {
		return nil, err
	}
	if !code.Valid() {
		return nil, invalid("code", "a known error code is required")
	}
	switch {
	case o.progress.Status == messages.StatusFailed:
		return nil, nil
	case o.progress.Status.Terminal():
		return nil, errcode.New(errcode.Conflict, "order %s is %s and cannot fail", o.id, o.progress.Status)
	}
	return []messages.Event{messages.OrderFailed{
		OrderID: o.id, Code: code, Message: msg, Step: o.CurrentStep(), At: now.UTC(),
	}}, nil
}

// RecordCompensation decides to record that the saga undid a step, such as
// ReleaseStock for INVENTORY_RESERVED. The step need not be completed: a
// partly reserved order is compensated too. The same step and action are
// recorded once. It is accepted on cancelled and failed orders, since a
// compensation may finish after the order ended, but a confirmed order is
// never compensated, so that is a CONFLICT.
func (o *Order) RecordCompensation(step messages.SagaStep, action, reason string, now time.Time) ([]messages.Event, error) {
	if err := o.mustBePlaced(); err != nil {
		return nil, err
	}
	if !step.Valid() {
		return nil, invalid("step", "unknown saga step "+string(step))
	}
	if blank(action) {
		return nil, invalid("action", "compensation action is required")
	}
	if o.progress.Status == messages.StatusConfirmed {
		return nil, errcode.New(errcode.Conflict, "order %s is confirmed and cannot be compensated", o.id)
	}
	for _, c := range o.progress.Compensations {
		if c.Step == step && c.Action == action {
			return nil, nil
		}
	}
	return []messages.Event{messages.OrderCompensated{
		OrderID: o.id, Step: step, Action: action, Reason: reason, At: now.UTC(),
	}}, nil
}

// Apply evolves the order by one event of its stream. Events of other types
// are ignored but still counted, so Version always equals the stream length.
// Apply trusts its input: events were validated when decided.
func (o *Order) Apply(e messages.Event) {
	o.version++
	if e, ok := e.(messages.OrderPlaced); ok {
		o.id, o.customerID = e.OrderID, e.CustomerID
		o.items = slices.Clone(e.Items)
		o.total, o.currency = e.Total, e.Currency
		o.shipping, o.billing = e.ShippingAddress, e.BillingAddress
		o.paymentMethod, o.idempotencyKey = e.PaymentMethod, e.IdempotencyKey
		o.placedAt = e.PlacedAt
	}
	o.progress.apply(e)
}
