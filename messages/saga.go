package messages

import "slices"

// SagaStep names a step of the order saga. The values are shown to users and
// stored in events, so they are part of the wire format.
type SagaStep string

// The saga's steps, in the order they complete.
const (
	StepOrderCreated      SagaStep = "ORDER_CREATED"
	StepInventoryReserved SagaStep = "INVENTORY_RESERVED"
	StepPaymentAuthorized SagaStep = "PAYMENT_AUTHORIZED"
	StepOrderConfirmed    SagaStep = "ORDER_CONFIRMED"
)

var sagaSteps = []SagaStep{StepOrderCreated, StepInventoryReserved, StepPaymentAuthorized, StepOrderConfirmed}

// AllSagaSteps returns the steps in execution order; compensation walks it
// backwards. The slice is a copy and may be modified.
func AllSagaSteps() []SagaStep { return slices.Clone(sagaSteps) }

// Index returns the step's position in AllSagaSteps, or -1 for an unknown
// step, so callers can compare progress without their own table.
func (s SagaStep) Index() int { return slices.Index(sagaSteps, s) }

// Valid reports whether s is a known step.
func (s SagaStep) Valid() bool { return s.Index() >= 0 }

// OrderStatus is an order's coarse state as shown to customers.
type OrderStatus string

// Order statuses. PENDING: placed, no work done beyond creation. PROCESSING:
// the saga has completed at least one step after ORDER_CREATED. CONFIRMED,
// CANCELLED and FAILED are terminal.
const (
	StatusPending    OrderStatus = "PENDING"
	StatusProcessing OrderStatus = "PROCESSING"
	StatusConfirmed  OrderStatus = "CONFIRMED"
	StatusCancelled  OrderStatus = "CANCELLED"
	StatusFailed     OrderStatus = "FAILED"
)

// Terminal reports whether no further transition can leave s.
func (s OrderStatus) Terminal() bool {
	return s == StatusConfirmed || s == StatusCancelled || s == StatusFailed
}

// OrderOf is the order an event is about: the order's own events and the
// inventory and payments events that name an order (reservations, holds and
// their settlement); "" for the others (a product created, funds added).
// The order saga and the reconciliation follow orders by it.
func OrderOf(e Event) string {
	switch e := e.(type) {
	case OrderPlaced:
		return e.OrderID
	case OrderStepCompleted:
		return e.OrderID
	case OrderConfirmed:
		return e.OrderID
	case OrderCancellationRequested:
		return e.OrderID
	case OrderCancelled:
		return e.OrderID
	case OrderFailed:
		return e.OrderID
	case StockReserved:
		return e.OrderID
	case StockReservationRejected:
		return e.OrderID
	case StockReleased:
		return e.OrderID
	case StockCommitted:
		return e.OrderID
	case PaymentAuthorized:
		return e.OrderID
	case PaymentAuthorizationRejected:
		return e.OrderID
	case PaymentVoided:
		return e.OrderID
	case PaymentCaptured:
		return e.OrderID
	}
	return ""
}
