// Package query is the read side: the read models the API answers with, and
// (with the projections) the Elasticsearch readers that serve them.
package query

import (
	"time"

	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/messages"
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
}

// Failure is why an order ended CANCELLED or FAILED.
type Failure struct {
	Code    errcode.Code      `json:"code"`
	Message string            `json:"message"`
	Step    messages.SagaStep `json:"step,omitempty"`
}

// Product is a catalog entry with its stock.
type Product struct {
	ID        string       `json:"id"`
	SKU       string       `json:"sku"`
	Name      string       `json:"name"`
	Price     money.Amount `json:"price"`
	Available int          `json:"available"`
	Reserved  int          `json:"reserved"`
	Version   int          `json:"version"`
}

// Customer is a payments account.
type Customer struct {
	ID      string       `json:"id"`
	Email   string       `json:"email"`
	Name    string       `json:"name"`
	Balance money.Amount `json:"balance"`
	Held    money.Amount `json:"held"`
	Version int          `json:"version"`
}

// OrderEvent is one entry of an order's audit trail.
type OrderEvent struct {
	Type          string    `json:"type"`
	Version       int       `json:"version"`
	OccurredAt    time.Time `json:"occurredAt"`
	Data          string    `json:"data"`
	CorrelationID string    `json:"correlationId,omitempty"`
	CausationID   string    `json:"causationId,omitempty"`
}
