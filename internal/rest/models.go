package rest

import (
	"time"

	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/query"
)

// The wire types of the REST API: snake_case, money as decimal strings
// ("29.99") like the GraphQL Decimal, so clients never parse floats.

type placeOrderRequest struct {
	IdempotencyKey  string             `json:"idempotency_key"`
	CustomerID      string             `json:"customer_id"`
	Items           []orderItemRequest `json:"items"`
	ShippingAddress *addressJSON       `json:"shipping_address"`
	BillingAddress  *addressJSON       `json:"billing_address"`
	PaymentMethod   *paymentMethodJSON `json:"payment_method"`
}

type orderItemRequest struct {
	ProductID string `json:"product_id"`
	Quantity  int    `json:"quantity"`
}

type addressJSON struct {
	Street  string `json:"street"`
	City    string `json:"city"`
	Zip     string `json:"zip"`
	Country string `json:"country"`
	State   string `json:"state,omitempty"`
}

// address maps an optional address; nil becomes the zero Address, which
// for the billing address means "same as shipping".
func (a *addressJSON) address() messages.Address {
	if a == nil {
		return messages.Address{}
	}
	return messages.Address{Street: a.Street, City: a.City, Zip: a.Zip, Country: a.Country, State: a.State}
}

type paymentMethodJSON struct {
	Type  string `json:"type"`
	Token string `json:"token"`
}

func (p *paymentMethodJSON) paymentMethod() messages.PaymentMethod {
	return messages.PaymentMethod{Type: p.Type, Token: p.Token}
}

type placeOrderResponse struct {
	Order  orderJSON `json:"order"`
	SagaID string    `json:"saga_id"`
	// StillRunning, only with ?wait=, is true when the wait ended before
	// the order was final.
	StillRunning *bool `json:"still_running,omitempty"`
}

type orderJSON struct {
	ID             string               `json:"id"`
	CustomerID     string               `json:"customer_id"`
	Status         messages.OrderStatus `json:"status"`
	CurrentStep    *messages.SagaStep   `json:"current_step"`
	CompletedSteps []messages.SagaStep  `json:"completed_steps"`
	PendingSteps   []messages.SagaStep  `json:"pending_steps"`
	Items          []orderItemJSON      `json:"items"`
	TotalAmount    string               `json:"total_amount"`
	Currency       string               `json:"currency"`
	Failure        *failureJSON         `json:"failure"`
	CreatedAt      time.Time            `json:"created_at"`
	UpdatedAt      time.Time            `json:"updated_at"`
	Version        int                  `json:"version"`
}

type orderItemJSON struct {
	ProductID   string `json:"product_id"`
	ProductName string `json:"product_name"`
	SKU         string `json:"sku"`
	Quantity    int    `json:"quantity"`
	UnitPrice   string `json:"unit_price"`
}

type failureJSON struct {
	Code    string             `json:"code"`
	Message string             `json:"message"`
	Step    *messages.SagaStep `json:"step"`
}

// orderStatusJSON is where an order's saga stands, for clients polling it.
type orderStatusJSON struct {
	OrderID        string               `json:"order_id"`
	Status         messages.OrderStatus `json:"status"`
	CurrentStep    *messages.SagaStep   `json:"current_step"`
	CompletedSteps []messages.SagaStep  `json:"completed_steps"`
	PendingSteps   []messages.SagaStep  `json:"pending_steps"`
	Failure        *failureJSON         `json:"failure,omitempty"`
	LastUpdated    time.Time            `json:"last_updated"`
	Version        int                  `json:"version"`
}

func orderResponse(o query.Order) orderJSON {
	out := orderJSON{
		ID:             o.ID,
		CustomerID:     o.CustomerID,
		Status:         o.Status,
		CurrentStep:    optionalStep(o.CurrentStep),
		CompletedSteps: nonNil(o.CompletedSteps),
		PendingSteps:   nonNil(o.PendingSteps),
		Items:          make([]orderItemJSON, len(o.Items)),
		TotalAmount:    o.Total.String(),
		Currency:       o.Currency,
		Failure:        failure(o.Failure),
		CreatedAt:      o.CreatedAt.UTC(),
		UpdatedAt:      o.UpdatedAt.UTC(),
		Version:        o.Version,
	}
	for i, line := range o.Items {
		out.Items[i] = orderItemJSON{
			ProductID: line.ProductID, ProductName: line.ProductName, SKU: line.SKU,
			Quantity: line.Quantity, UnitPrice: line.UnitPrice.String(),
		}
	}
	return out
}

func statusResponse(o query.Order) orderStatusJSON {
	return orderStatusJSON{
		OrderID:        o.ID,
		Status:         o.Status,
		CurrentStep:    optionalStep(o.CurrentStep),
		CompletedSteps: nonNil(o.CompletedSteps),
		PendingSteps:   nonNil(o.PendingSteps),
		Failure:        failure(o.Failure),
		LastUpdated:    o.UpdatedAt.UTC(),
		Version:        o.Version,
	}
}

func failure(f *query.Failure) *failureJSON {
	if f == nil {
		return nil
	}
	return &failureJSON{Code: string(f.Code), Message: f.Message, Step: optionalStep(f.Step)}
}

func optionalStep(s messages.SagaStep) *messages.SagaStep {
	if s == "" {
		return nil
	}
	return &s
}

// nonNil keeps empty step lists as [] rather than null.
func nonNil(steps []messages.SagaStep) []messages.SagaStep {
	if steps == nil {
		return []messages.SagaStep{}
	}
	return steps
}
