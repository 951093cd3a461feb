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
