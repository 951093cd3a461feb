package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Codes the client gives failures that never produced a GraphQL error, so
// they can be counted next to the server's extensions.code values.
const (
	// CodeTimeout is a request that got no answer within the request
	// timeout.
	CodeTimeout = "CLIENT_TIMEOUT"
	// CodeTransport is a connection that failed (refused, reset, closed).
	CodeTransport = "CLIENT_TRANSPORT"
	// CodeBadResponse is an answer that is not a GraphQL response; the
	// HTTP status is in APIError.Status.
	CodeBadResponse = "CLIENT_BAD_RESPONSE"
	// CodeNoCode is a GraphQL error without extensions.code.
	CodeNoCode = "NO_CODE"
	// CodeOverload is an arrival the open model could not send because
	// too many requests were already waiting for an answer.
	CodeOverload = "CLIENT_OVERLOAD"
)

// APIError is a failed request: the first GraphQL error's extensions.code
// and message, or one of the client's own codes.
type APIError struct {
	Code    string
	Message string
	// Status is the HTTP status, zero when none was received.
	Status int
}

func (e *APIError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.Status, e.Message)
	}
	return e.Code + ": " + e.Message
}

// errorCode is the code of err for counting: an APIError's code, else
// CodeTransport.
func errorCode(err error) string {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Code
	}
	return CodeTransport
}

// definite reports whether a failed placeOrder certainly recorded nothing:
// the server refused the request itself. Any other failure (a timeout, a
// lost connection, INTERNAL) may have placed the order, so its outcome is
// learnt by sending it again with the same idempotency key.
func definite(err error) bool {
	switch errorCode(err) {
	case "INVALID_ORDER_DATA", "UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND":
		return true
	}
	return false
}

// Client sends GraphQL operations over HTTP POST to one endpoint.
type Client struct {
	url     string
	http    *http.Client
	timeout time.Duration
}

// NewClient returns a client of the endpoint url (…/graphql) whose
// requests each give up after timeout. Its connection pool is sized for
// an open-model load, which keeps many requests in flight.
func NewClient(url string, timeout time.Duration) *Client {
	transport := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2048,
		MaxIdleConnsPerHost: 2048,
		IdleConnTimeout:     90 * time.Second,
	}
	return &Client{url: url, http: &http.Client{Transport: transport}, timeout: timeout}
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

type gqlRequest struct {
	Query     string         `json:"query"`
	Variables map[string]any `json:"variables,omitempty"`
}

type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

// Do sends one operation with the bearer token and decodes data into out
// (when out is non-nil). Any GraphQL error fails the call with an
// *APIError carrying the first error's code.
func (c *Client) Do(ctx context.Context, token, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(gqlRequest{Query: query, Variables: vars})
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return &APIError{Code: CodeTimeout, Message: err.Error()}
		}
		return &APIError{Code: CodeTransport, Message: err.Error()}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		if ctx.Err() != nil {
			return &APIError{Code: CodeTimeout, Message: err.Error(), Status: res.StatusCode}
		}
		return &APIError{Code: CodeTransport, Message: err.Error(), Status: res.StatusCode}
	}
	var gr gqlResponse
	if err := json.Unmarshal(raw, &gr); err != nil || (gr.Data == nil && len(gr.Errors) == 0) {
		return &APIError{Code: CodeBadResponse, Message: truncate(string(raw), 200), Status: res.StatusCode}
	}
	if len(gr.Errors) > 0 {
		e := gr.Errors[0]
		code, _ := e.Extensions["code"].(string)
		if code == "" {
			code = CodeNoCode
		}
		return &APIError{Code: code, Message: e.Message, Status: res.StatusCode}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(gr.Data, out); err != nil {
		return &APIError{Code: CodeBadResponse, Message: "decode data: " + err.Error(), Status: res.StatusCode}
	}
	return nil
}

// The shapes the bench reads back. Amounts stay strings (the Decimal
// scalar) and are parsed where they are compared.

// Product is the part of the Product type the bench reads.
type Product struct {
	ID        string `json:"id"`
	Price     string `json:"price"`
	Available int    `json:"available"`
	Reserved  int    `json:"reserved"`
}

// Customer is the part of the Customer type the bench reads.
type Customer struct {
	ID      string `json:"id"`
	Balance string `json:"balance"`
	Held    string `json:"held"`
}

// OrderItem is one line of an order.
type OrderItem struct {
	ProductID string `json:"productId"`
	Quantity  int    `json:"quantity"`
}

// Order is the part of the Order type the bench reads.
type Order struct {
	ID          string      `json:"id"`
	CustomerID  string      `json:"customerId"`
	Status      string      `json:"status"`
	Version     int         `json:"version"`
	TotalAmount string      `json:"totalAmount"`
	Items       []OrderItem `json:"items"`
	Failure     *struct {
		Code string `json:"code"`
	} `json:"failure"`
}

// FailureCode is the order's failure code, empty when it has none.
func (o Order) FailureCode() string {
	if o.Failure == nil {
		return ""
	}
	return o.Failure.Code
}

// OrderEvent is one event of an order's stream.
type OrderEvent struct {
	Type       string    `json:"type"`
	Version    int       `json:"version"`
	OccurredAt time.Time `json:"occurredAt"`
}

// Final reports whether status is one an order never leaves.
func Final(status string) bool {
	return status == "CONFIRMED" || status == "CANCELLED" || status == "FAILED"
}

const (
	orderFields = `id customerId status version totalAmount items { productId quantity } failure { code }`

	createProductMutation    = `mutation($in: CreateProductInput!) { createProduct(input: $in) { id price available reserved } }`
	registerCustomerMutation = `mutation($in: RegisterCustomerInput!) { registerCustomer(input: $in) { id balance held } }`
	placeOrderMutation       = `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { sagaId order { ` + orderFields + ` } } }`
	cancelOrderMutation      = `mutation($id: ID!) { cancelOrder(orderId: $id, reason: "orderflow bench") { id status version } }`
	orderStatusQuery         = `query($id: ID!) { order(id: $id, minVersion: 1) { id status version failure { code } } }`
	orderWithEventsQuery     = `query($id: ID!) { order(id: $id) { ` + orderFields + ` } orderEvents(orderId: $id) { type version occurredAt } }`
	orderEventsQuery         = `query($id: ID!) { orderEvents(orderId: $id) { type version occurredAt } }`
	productQuery             = `query($id: ID!) { product(id: $id) { id price available reserved } }`
	customerQuery            = `query($id: ID!) { customer(id: $id) { id balance held } }`
)

// CreateProduct adds a catalog entry (admin token).
func (c *Client) CreateProduct(ctx context.Context, token, sku, name, price string, stock int) (Product, error) {
	var out struct{ CreateProduct Product }
	err := c.Do(ctx, token, createProductMutation, map[string]any{"in": map[string]any{
		"sku": sku, "name": name, "price": price, "initialStock": stock,
	}}, &out)
	return out.CreateProduct, err
}

// RegisterCustomer opens an account with credit (admin token).
func (c *Client) RegisterCustomer(ctx context.Context, token, email, name, credit string) (Customer, error) {
	in := map[string]any{"email": email, "name": name}
	if credit != "" {
		in["initialCredit"] = credit
	}
	var out struct{ RegisterCustomer Customer }
	err := c.Do(ctx, token, registerCustomerMutation, map[string]any{"in": in}, &out)
	return out.RegisterCustomer, err
}

// PlaceOrder places an order for the token's customer.
func (c *Client) PlaceOrder(ctx context.Context, token, key string, lines []OrderItem) (Order, error) {
	items := make([]map[string]any, len(lines))
	for i, l := range lines {
		items[i] = map[string]any{"productId": l.ProductID, "quantity": l.Quantity}
	}
	var out struct {
		PlaceOrder struct {
			SagaID string `json:"sagaId"`
			Order  Order  `json:"order"`
		}
	}
	err := c.Do(ctx, token, placeOrderMutation, map[string]any{"in": map[string]any{
		"idempotencyKey":  key,
		"items":           items,
		"shippingAddress": map[string]any{"street": "1 Bench Road", "city": "Loadville", "zip": "12345", "country": "US"},
		"paymentMethod":   map[string]any{"type": "card", "token": "tok_bench_4242"},
	}}, &out)
	if err == nil && out.PlaceOrder.Order.ID == "" {
		return Order{}, &APIError{Code: CodeBadResponse, Message: "placeOrder answered without an order id"}
	}
	return out.PlaceOrder.Order, err
}

// CancelOrder asks to cancel an order.
func (c *Client) CancelOrder(ctx context.Context, token, orderID string) (Order, error) {
	var out struct{ CancelOrder Order }
	err := c.Do(ctx, token, cancelOrderMutation, map[string]any{"id": orderID}, &out)
	return out.CancelOrder, err
}

// OrderStatus reads an order's status and version.
func (c *Client) OrderStatus(ctx context.Context, token, orderID string) (Order, error) {
	var out struct{ Order *Order }
	if err := c.Do(ctx, token, orderStatusQuery, map[string]any{"id": orderID}, &out); err != nil {
		return Order{}, err
	}
	if out.Order == nil {
		return Order{}, &APIError{Code: "NOT_FOUND", Message: "order " + orderID + " is null"}
	}
	return *out.Order, nil
}

// OrderWithEvents reads an order from the read side together with its
// stream from the event store, in one request.
func (c *Client) OrderWithEvents(ctx context.Context, token, orderID string) (Order, []OrderEvent, error) {
	var out struct {
		Order       *Order
		OrderEvents []OrderEvent
	}
	if err := c.Do(ctx, token, orderWithEventsQuery, map[string]any{"id": orderID}, &out); err != nil {
		return Order{}, nil, err
	}
	if out.Order == nil {
		return Order{}, nil, &APIError{Code: "NOT_FOUND", Message: "order " + orderID + " is null"}
	}
	return *out.Order, out.OrderEvents, nil
}

// OrderEvents reads an order's stream from the event store.
func (c *Client) OrderEvents(ctx context.Context, token, orderID string) ([]OrderEvent, error) {
	var out struct{ OrderEvents []OrderEvent }
	err := c.Do(ctx, token, orderEventsQuery, map[string]any{"id": orderID}, &out)
	return out.OrderEvents, err
}

// Product reads a catalog entry.
func (c *Client) Product(ctx context.Context, token, id string) (Product, error) {
	var out struct{ Product *Product }
	if err := c.Do(ctx, token, productQuery, map[string]any{"id": id}, &out); err != nil {
		return Product{}, err
	}
	if out.Product == nil {
		return Product{}, &APIError{Code: "NOT_FOUND", Message: "product " + id + " is null"}
	}
	return *out.Product, nil
}

// Customer reads an account.
func (c *Client) Customer(ctx context.Context, token, id string) (Customer, error) {
	var out struct{ Customer *Customer }
	if err := c.Do(ctx, token, customerQuery, map[string]any{"id": id}, &out); err != nil {
		return Customer{}, err
	}
	if out.Customer == nil {
		return Customer{}, &APIError{Code: "NOT_FOUND", Message: "customer " + id + " is null"}
	}
	return *out.Customer, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
