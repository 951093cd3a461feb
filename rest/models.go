package rest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/query"
)

// The wire types of the REST API: snake_case, money as decimal strings
// ("29.99") like the GraphQL Decimal, so clients never parse floats.

// placeOrderRequest is the requirements' order request, plus the
// optional idempotency_key (the Idempotency-Key header is the usual way)
// and billing_address.
type placeOrderRequest struct {
	// UserID is who orders: the caller's own id unless an admin places
	// the order for someone. Empty means the caller.
	UserID string `json:"user_id"`
	// CustomerID is the earlier name of user_id, still accepted.
	CustomerID      string             `json:"customer_id"`
	IdempotencyKey  string             `json:"idempotency_key"`
	Items           []orderItemRequest `json:"items"`
	ShippingAddress *addressJSON       `json:"shipping_address"`
	BillingAddress  *addressJSON       `json:"billing_address"`
	PaymentMethod   *paymentMethodJSON `json:"payment_method"`
}

type orderItemRequest struct {
	ProductID string `json:"product_id"`
	Quantity  int    `json:"quantity"`
	// UnitPrice is the price the customer saw: a JSON number (29.99) or a
	// decimal string ("29.99"); null or absent states none.
	UnitPrice json.RawMessage `json:"unit_price"`
}

// statedPrice reads an item's unit_price: nil when none is stated.
func (item orderItemRequest) statedPrice(i int) (*money.Amount, error) {
	raw := strings.TrimSpace(string(item.UnitPrice))
	if raw == "" || raw == "null" {
		return nil, nil
	}
	text := raw // a JSON number's literal, read exactly, never as a float
	if strings.HasPrefix(raw, `"`) {
		if err := json.Unmarshal(item.UnitPrice, &text); err != nil {
			text = raw // not a valid string: refused below
		}
	}
	field := fmt.Sprintf("items[%d].unit_price", i)
	price, err := money.Parse(text)
	if err != nil || price <= 0 {
		return nil, errcode.New(errcode.InvalidOrderData,
			"%s must be a positive decimal amount with at most two decimals, like 29.99 or \"29.99\", got %.40s", field, raw).
			With("field", field)
	}
	return &price, nil
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

// placedOrderJSON answers a placement: where to follow the order, and
// when it should be final.
type placedOrderJSON struct {
	OrderID string `json:"order_id"`
	// Status is "processing" until the order is final; a retried
	// placement of a final order answers "confirmed", "cancelled" or
	// "failed".
	Status              string     `json:"status"`
	EstimatedCompletion time.Time  `json:"estimated_completion"`
	SagaID              string     `json:"saga_id"`
	Links               orderLinks `json:"links"`
	Version             int        `json:"version"`
	// StillRunning, only with ?wait=, is true when the wait ended before
	// the order was final.
	StillRunning *bool `json:"still_running,omitempty"`
}

type orderLinks struct {
	Self   string `json:"self"`
	Status string `json:"status"`
}

func linksOf(orderID string) orderLinks {
	self := "/api/v1/orders/" + url.PathEscape(orderID)
	return orderLinks{Self: self, Status: self + "/status"}
}

// placementStatus is the placement answer's status.
func placementStatus(s messages.OrderStatus) string {
	if s.Terminal() {
		return strings.ToLower(string(s))
	}
	return "processing"
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
	// EstimatedCompletion is when the order should be final, or when it
	// became final.
	EstimatedCompletion time.Time `json:"estimated_completion"`
	LastUpdated         time.Time `json:"last_updated"`
	Version             int       `json:"version"`
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

func statusResponse(o query.Order, estimatedCompletion time.Time) orderStatusJSON {
	return orderStatusJSON{
		OrderID:             o.ID,
		Status:              o.Status,
		CurrentStep:         optionalStep(o.CurrentStep),
		CompletedSteps:      nonNil(o.CompletedSteps),
		PendingSteps:        nonNil(o.PendingSteps),
		Failure:             failure(o.Failure),
		EstimatedCompletion: estimatedCompletion,
		LastUpdated:         o.UpdatedAt.UTC(),
		Version:             o.Version,
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
