// Package query is the read side: the read models the API answers with, and
// (with the projections) the Elasticsearch readers that serve them.
package query

import (
	"time"

	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/projections/documents"
)

// Order is an order as clients see it.
type Order struct {
	ID             string               `json:"id"`
	CustomerID     string               `json:"customerId"`
	Status         messages.OrderStatus `json:"status"`
	CurrentStep    messages.SagaStep    `json:"currentStep,omitempty"`
	CompletedSteps []messages.SagaStep  `json:"completedSteps"`
	PendingSteps   []messages.SagaStep  `json:"pendingSteps"`
	Items          []messages.OrderLine `json:"items"`
	Total          money.Amount         `json:"total"`
	Currency       string               `json:"currency"`
	Failure        *Failure             `json:"failure,omitempty"`
	CreatedAt      time.Time            `json:"createdAt"`
	UpdatedAt      time.Time            `json:"updatedAt"`
	// Version is the order stream's version the view reflects.
	Version int `json:"version"`

	// The fields below are filled by the Elasticsearch read model only.

	// CustomerName and CustomerEmail are the customer's, for display and
	// search; empty when unknown.
	CustomerName  string `json:"customerName,omitempty"`
	CustomerEmail string `json:"customerEmail,omitempty"`
	// CancellationRequested is true once someone asked to cancel.
	CancellationRequested bool `json:"cancellationRequested,omitempty"`
	// Compensations are the steps the saga undid, oldest first.
	Compensations []Compensation `json:"compensations,omitempty"`
	// Timeline has one entry per event of the order, oldest first. Search
	// results leave it out; read the order by id to get it.
	Timeline []TimelineEntry `json:"timeline,omitempty"`
}

// Compensation is one saga step undone, such as ReleaseStock for
// INVENTORY_RESERVED: the read model's own (one definition for the
// document and its readers).
type Compensation = documents.Compensation

// TimelineEntry is one event in an order's history: what happened (Type),
// when the aggregate decided it (At) and the status it left the order in.
type TimelineEntry = documents.TimelineEntry

// Failure is why an order ended CANCELLED or FAILED.
type Failure = documents.Failure

// Product is a catalog entry with its stock.
type Product struct {
	ID        string       `json:"id"`
	SKU       string       `json:"sku"`
	Name      string       `json:"name"`
	Price     money.Amount `json:"price"`
	Available int          `json:"available"`
	Reserved  int          `json:"reserved"`
	Version   int          `json:"version"`
	// OnHand and Committed are filled by the Elasticsearch read model:
	// units in the warehouse (reserved included) and units sold.
	OnHand    int `json:"onHand,omitempty"`
	Committed int `json:"committed,omitempty"`
}

// Customer is a payments account.
type Customer struct {
	ID      string       `json:"id"`
	Email   string       `json:"email"`
	Name    string       `json:"name"`
	Balance money.Amount `json:"balance"`
	Held    money.Amount `json:"held"`
	Version int          `json:"version"`
	// Captured is filled by the Elasticsearch read model: what confirmed
	// orders paid over the account's lifetime.
	Captured money.Amount `json:"captured,omitempty"`
}

// OrderEvent is one entry of an order's audit trail.
type OrderEvent struct {
	Type          string    `json:"type"`
	Version       int       `json:"version"`
	OccurredAt    time.Time `json:"occurredAt"`
	Data          string    `json:"data"`
	CorrelationID string    `json:"correlationId,omitempty"`
	CausationID   string    `json:"causationId,omitempty"`
	// Context is the event store it comes from: ordering, inventory or
	// payments.
	Context string `json:"context"`
	// StreamID is its stream: the order, a product or a customer account.
	StreamID string `json:"streamId"`
}
