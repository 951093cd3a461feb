package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/internal/systemtest"
	"github.com/orderflow/orderflow/internal/testenv"
	"github.com/orderflow/orderflow/rest"
)

// The REST API end to end over HTTP against the real servers. Every
// answer any test here gets is validated against the OpenAPI description
// (fixture.do). In setup's system a placement starts its order's saga,
// which reserves the stock, but the saga's event handlers do not run, so
// orders stay PENDING; setupFlow runs the whole flow.

type fixture struct {
	url     string
	secret  []byte
	env     *testenv.Env
	product string
	// customer and other are two customers with funds.
	customer, other string
	sys             *systemtest.System
}

func setup(t *testing.T) *fixture {
	t.Helper()
	return start(t, systemtest.Options{API: true, NoSaga: true}, 1250)
}

// start runs sys with one product at price (cents) and two customers.
func start(t *testing.T, opts systemtest.Options, price money.Amount) *fixture {
	t.Helper()
	sys := systemtest.Start(t, opts)
	ctx := context.Background()
	application := sys.App
	secret := []byte(sys.Env.Config.JWTSecret)
	env := sys.Env

	admin := auth.Principal{Subject: "admin-1", Roles: []auth.Role{auth.RoleAdmin}}
	p, err := application.Commands.CreateProduct.Handle(ctx, admin, app.CreateProduct{SKU: "MUG", Name: "Mug", Price: price, InitialStock: 100})
	require.NoError(t, err)
	c1, err := application.Commands.RegisterCustomer.Handle(ctx, admin, app.RegisterCustomer{Email: "a@example.com", Name: "A", InitialCredit: 10000})
	require.NoError(t, err)
	c2, err := application.Commands.RegisterCustomer.Handle(ctx, admin, app.RegisterCustomer{Email: "b@example.com", Name: "B", InitialCredit: 10000})
	require.NoError(t, err)
	return &fixture{url: sys.URL, secret: secret, env: env, sys: sys, product: p.ID, customer: c1.ID, other: c2.ID}
}

func (f *fixture) token(t *testing.T, subject string) string {
	t.Helper()
	tok, err := auth.Issue(f.secret, subject, time.Hour, auth.RoleCustomer)
	require.NoError(t, err)
	return tok
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (f *fixture) do(t *testing.T, method, path, token string, body []byte, header map[string]string) response {
	t.Helper()
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, f.url+path, reader)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, checkAnswer(t, req, res.StatusCode, res.Header, raw),
		"%s %s answered %d with %s: not as the OpenAPI description says", method, path, res.StatusCode, raw)
	return response{status: res.StatusCode, header: res.Header, body: raw}
}

func orderBody(t *testing.T, key string, lines ...any) []byte {
	t.Helper()
	items := []map[string]any{}
	for i := 0; i+1 < len(lines); i += 2 {
		items = append(items, map[string]any{"product_id": lines[i], "quantity": lines[i+1]})
	}
	in := map[string]any{
		"items":            items,
		"shipping_address": map[string]any{"street": "1 Main St", "city": "Springfield", "zip": "12345", "country": "US"},
		"payment_method":   map[string]any{"type": "card", "token": "tok_4242424242424242"},
	}
	if key != "" {
		in["idempotency_key"] = key
	}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	return b
}

type orderJSON struct {
	ID             string   `json:"id"`
	CustomerID     string   `json:"customer_id"`
	Status         string   `json:"status"`
	CurrentStep    *string  `json:"current_step"`
	CompletedSteps []string `json:"completed_steps"`
	PendingSteps   []string `json:"pending_steps"`
	Items          []struct {
		ProductID   string `json:"product_id"`
		ProductName string `json:"product_name"`
		SKU         string `json:"sku"`
		Quantity    int    `json:"quantity"`
		UnitPrice   string `json:"unit_price"`
	} `json:"items"`
	TotalAmount string          `json:"total_amount"`
	Currency    string          `json:"currency"`
	Failure     json.RawMessage `json:"failure"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	Version     int             `json:"version"`
}

type placed struct {
	OrderID             string    `json:"order_id"`
	Status              string    `json:"status"`
	EstimatedCompletion time.Time `json:"estimated_completion"`
	SagaID              string    `json:"saga_id"`
	Links               struct {
		Self   string `json:"self"`
		Status string `json:"status"`
	} `json:"links"`
	Version int `json:"version"`
}

type orderStatus struct {
	OrderID             string          `json:"order_id"`
	Status              string          `json:"status"`
	CurrentStep         *string         `json:"current_step"`
	CompletedSteps      []string        `json:"completed_steps"`
	PendingSteps        []string        `json:"pending_steps"`
	Failure             json.RawMessage `json:"failure"`
	EstimatedCompletion time.Time       `json:"estimated_completion"`
	LastUpdated         time.Time       `json:"last_updated"`
	Version             int             `json:"version"`
}

type apiError struct {
	Error struct {
		Code      string         `json:"code"`
		Message   string         `json:"message"`
		Details   map[string]any `json:"details"`
		Timestamp time.Time      `json:"timestamp"`
		RequestID string         `json:"request_id"`
	} `json:"error"`
}

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&v), "body: %s", r.body)
	return v
}

func (f *fixture) eventCount(t *testing.T) int {
	t.Helper()
	var n int
	err := f.env.Pool.QueryRow(context.Background(),
		`SELECT (SELECT count(*) FROM ordering.events) + (SELECT count(*) FROM inventory.events) + (SELECT count(*) FROM payments.events)`).Scan(&n)
	require.NoError(t, err)
	return n
}

func TestPlaceOrderAndFollowItsStatus(t *testing.T) {
	t.Parallel()
	f := setup(t)
	token := f.token(t, f.customer)

	before := time.Now()
	res := f.do(t, http.MethodPost, "/api/v1/orders", token, orderBody(t, "", f.product, 3), map[string]string{"Idempotency-Key": "rest-1"})
	require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
	got := decode[placed](t, res)
	id := app.OrderID(f.customer, "rest-1")
	require.Equal(t, id, got.OrderID)
	require.Equal(t, id, got.SagaID)
	require.Equal(t, "processing", got.Status)
	require.Equal(t, "/api/v1/orders/"+id, got.Links.Self)
	require.Equal(t, "/api/v1/orders/"+id+"/status", got.Links.Status)
	require.Equal(t, got.Links.Self, res.header.Get("Location"))
	require.Equal(t, 1, got.Version)
	// Nothing finished here (no saga runs): the default estimate.
	require.WithinDuration(t, before.Add(app.DefaultCompletionEstimate), got.EstimatedCompletion, 2*time.Second)

	// A retry, this time with the key in the body, answers the same order.
	res = f.do(t, http.MethodPost, "/api/v1/orders", token, orderBody(t, "rest-1", f.product, 3), nil)
	require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
	again := decode[placed](t, res)
	require.Equal(t, got.OrderID, again.OrderID)
	require.Equal(t, got.Version, again.Version)

	res = f.do(t, http.MethodGet, got.Links.Self+"?min_version=1", token, nil, nil)
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	o := decode[orderJSON](t, res)
	require.Equal(t, id, o.ID)
	require.Equal(t, "PENDING", o.Status)
	require.Equal(t, f.customer, o.CustomerID)
	require.Len(t, o.Items, 1)
	require.Equal(t, "12.50", o.Items[0].UnitPrice, "the catalog price")
	require.Equal(t, "Mug", o.Items[0].ProductName)
	require.Equal(t, "37.50", o.TotalAmount)
	require.Equal(t, "USD", o.Currency)
	require.Equal(t, "null", string(o.Failure))
	require.Equal(t, 1, o.Version)

	res = f.do(t, http.MethodGet, got.Links.Status+"?min_version=1", token, nil, nil)
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	status := decode[orderStatus](t, res)
	require.Equal(t, id, status.OrderID)
	require.Equal(t, "PENDING", status.Status)
	require.Equal(t, "ORDER_CREATED", *status.CurrentStep)
	require.Equal(t, []string{"ORDER_CREATED"}, status.CompletedSteps)
	require.Equal(t, []string{"INVENTORY_RESERVED", "PAYMENT_AUTHORIZED", "ORDER_CONFIRMED"}, status.PendingSteps)
	require.True(t, status.LastUpdated.Equal(o.UpdatedAt))
	require.True(t, status.EstimatedCompletion.After(o.CreatedAt))

	// Without any key, each request is its own placement.
	first := decode[placed](t, f.do(t, http.MethodPost, "/api/v1/orders", token, orderBody(t, "", f.product, 1), nil))
	second := decode[placed](t, f.do(t, http.MethodPost, "/api/v1/orders", token, orderBody(t, "", f.product, 1), nil))
	require.NotEqual(t, first.OrderID, second.OrderID)
}

// The request exactly as the requirements show it (with a real product id
// and its price) places an order, answered in the documented shape, and
// the status endpoint follows it to CONFIRMED. Once orders finished, the
// estimates come from their measured end-to-end times.
func TestRequirementsExampleIsPlacedAndConfirmed(t *testing.T) {
	t.Parallel()
	f := start(t, systemtest.Options{API: true}, 2999)
	token := f.token(t, f.customer)
	example := []byte(`{
  "user_id": "` + f.customer + `",
  "items": [
    {
      "product_id": "` + f.product + `",
      "quantity": 2,
      "unit_price": 29.99
    }
  ],
  "shipping_address": {
    "street": "123 Main St",
    "city": "San Francisco",
    "state": "CA",
    "zip": "94105",
    "country": "US"
  },
  "payment_method": {
    "type": "credit_card",
    "token": "tok_visa_4242"
  }
}`)
	require.NoError(t, checkRequest(t, http.MethodPost, "/api/v1/orders", http.Header{
		"Content-Type": {"application/json"}, "Authorization": {"Bearer " + token},
	}, example), "the description describes the requirements' request")

	res := f.do(t, http.MethodPost, "/api/v1/orders", token, example, nil)
	require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
	var shape map[string]any
	require.NoError(t, json.Unmarshal(res.body, &shape))
	for _, field := range []string{"order_id", "status", "estimated_completion", "saga_id", "links"} {
		require.Contains(t, shape, field)
	}
	got := decode[placed](t, res)
	require.Equal(t, "processing", got.Status)

	var status orderStatus
	require.Eventually(t, func() bool {
		res := f.do(t, http.MethodGet, got.Links.Status, token, nil, nil)
		if res.status == http.StatusNotFound {
			return false // not projected yet
		}
		require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
		status = decode[orderStatus](t, res)
		return status.Status == "CONFIRMED"
	}, 60*time.Second, 50*time.Millisecond)
	require.Equal(t, []string{"ORDER_CREATED", "INVENTORY_RESERVED", "PAYMENT_AUTHORIZED", "ORDER_CONFIRMED"}, status.CompletedSteps)
	require.Empty(t, status.PendingSteps)
	require.Empty(t, status.Failure, "no failure")
	require.True(t, status.EstimatedCompletion.Equal(status.LastUpdated), "a final order's estimate is when it became final")

	o := decode[orderJSON](t, f.do(t, http.MethodGet, got.Links.Self, token, nil, nil))
	require.Equal(t, "59.98", o.TotalAmount)
	require.Equal(t, "29.99", o.Items[0].UnitPrice)

	// The API measured that order's end to end from its change feed; a
	// few more and the estimates are measured ones.
	completions := f.sys.Feed.Completions
	require.NotNil(t, completions)
	require.Eventually(t, func() bool { return completions.Stats().Samples >= 1 }, 30*time.Second, 20*time.Millisecond)
	for i := range app.MinCompletionSamples {
		body := orderBody(t, "", f.product, 1)
		res := f.do(t, http.MethodPost, "/api/v1/orders", token, body, map[string]string{"Idempotency-Key": fmt.Sprintf("more-%d", i)})
		require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
	}
	require.Eventually(t, func() bool { return completions.Stats().Samples >= app.MinCompletionSamples+1 }, 60*time.Second, 20*time.Millisecond)
	stats := completions.Stats()
	require.True(t, stats.Measured)
	require.Positive(t, stats.P90)
	res = f.do(t, http.MethodPost, "/api/v1/orders", token, orderBody(t, "", f.product, 1), map[string]string{"Idempotency-Key": "measured"})
	require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
	measured := decode[placed](t, res)
	placedOrder := decode[orderJSON](t, f.do(t, http.MethodGet, measured.Links.Self+"?min_version=1", token, nil, nil))
	// Samples only grow while this runs, so allow the P90 to move a little.
	require.WithinDuration(t, placedOrder.CreatedAt.Add(stats.P90), measured.EstimatedCompletion, stats.P90+time.Second)
}

// A stated unit price is checked against the catalog; user_id is checked
// against the token unless an admin places the order.
func TestStatedPriceAndUserAreChecked(t *testing.T) {
	t.Parallel()
	f := setup(t)
	token := f.token(t, f.customer)
	body := func(edit func(map[string]any)) []byte {
		in := map[string]any{}
		require.NoError(t, json.Unmarshal(orderBody(t, "", f.product, 2), &in))
		edit(in)
		b, err := json.Marshal(in)
		require.NoError(t, err)
		return b
	}
	raw := func(price string) []byte {
		return []byte(`{"items":[{"product_id":"` + f.product + `","quantity":2,"unit_price":` + price + `}],` +
			`"shipping_address":{"street":"1 Main St","city":"Springfield","zip":"12345","country":"US"},` +
			`"payment_method":{"type":"card","token":"tok_4242"}}`)
	}
	for _, price := range []string{`12.5`, `12.50`, `"12.50"`, `12`, `null`} {
		want := http.StatusCreated
		if price == `12` {
			want = http.StatusUnprocessableEntity
		}
		res := f.do(t, http.MethodPost, "/api/v1/orders", token, raw(price), nil)
		require.Equal(t, want, res.status, "unit_price %s: %s", price, res.body)
	}

	res := f.do(t, http.MethodPost, "/api/v1/orders", token, raw(`29.99`), nil)
	require.Equal(t, http.StatusUnprocessableEntity, res.status, "body: %s", res.body)
	e := decode[apiError](t, res).Error
	require.Equal(t, "INVALID_ORDER_DATA", e.Code)
	require.Contains(t, e.Message, f.product)
	require.Contains(t, e.Message, "12.50")
	require.Contains(t, e.Message, "29.99")
	require.Equal(t, map[string]any{"field": "items[0].unitPrice", "product_id": f.product, "catalog_price": "12.50", "stated_price": "29.99"}, e.Details)

	for _, price := range []string{`12.505`, `1e1`, `-12.50`, `"twelve"`, `{}`} {
		res := f.do(t, http.MethodPost, "/api/v1/orders", token, raw(price), nil)
		require.Equal(t, http.StatusBadRequest, res.status, "unit_price %s: %s", price, res.body)
		require.Equal(t, "items[0].unit_price", decode[apiError](t, res).Error.Details["field"])
	}

	forOther := body(func(in map[string]any) { in["user_id"] = f.other })
	res = f.do(t, http.MethodPost, "/api/v1/orders", token, forOther, nil)
	require.Equal(t, http.StatusForbidden, res.status, "body: %s", res.body)
	require.Equal(t, "FORBIDDEN", decode[apiError](t, res).Error.Code)

	res = f.do(t, http.MethodPost, "/api/v1/orders", token, body(func(in map[string]any) { in["user_id"] = f.customer }), nil)
	require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)

	admin, err := auth.Issue(f.secret, "ops", time.Hour, auth.RoleAdmin)
	require.NoError(t, err)
	res = f.do(t, http.MethodPost, "/api/v1/orders", admin, forOther, map[string]string{"Idempotency-Key": "by-admin"})
	require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
	require.Equal(t, app.OrderID(f.other, "by-admin"), decode[placed](t, res).OrderID, "an admin orders for the user named")

	res = f.do(t, http.MethodPost, "/api/v1/orders", token, body(func(in map[string]any) {
		in["user_id"] = f.customer
		in["customer_id"] = f.other
	}), nil)
	require.Equal(t, http.StatusBadRequest, res.status, "body: %s", res.body)
	require.Equal(t, "user_id", decode[apiError](t, res).Error.Details["field"])

	billing := body(func(in map[string]any) {
		in["billing_address"] = map[string]any{"street": "2 Side St", "city": "Shelbyville", "state": "IL", "zip": "54321", "country": "US"}
	})
	res = f.do(t, http.MethodPost, "/api/v1/orders", token, billing, nil)
	require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
}

type errorCase struct {
	name, method, path, token string
	body                      []byte
	header                    map[string]string
	status                    int
	code, field, message      string
	retryable                 bool
}

func TestErrorsAreCodedJSON(t *testing.T) {
	t.Parallel()
	f := setup(t)
	token := f.token(t, f.customer)
	otherToken := f.token(t, f.other)
	res := f.do(t, http.MethodPost, "/api/v1/orders", otherToken, orderBody(t, "other-1", f.product, 1), nil)
	require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
	otherOrder := decode[placed](t, res).OrderID
	// The placement started the order's saga, which reserves its stock:
	// count the events once that landed.
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, f.env.Pool.QueryRow(context.Background(),
			`SELECT count(*) FROM inventory.events WHERE event_type = 'inventory.StockReserved' AND data->>'orderId' = $1`, otherOrder).Scan(&n))
		return n > 0
	}, 30*time.Second, 10*time.Millisecond)
	before := f.eventCount(t)

	expired, err := auth.Issue(f.secret, f.customer, -time.Minute, auth.RoleCustomer)
	require.NoError(t, err)
	forOther := map[string]any{}
	require.NoError(t, json.Unmarshal(orderBody(t, "for-other", f.product, 1), &forOther))
	forOther["customer_id"] = f.other
	forOtherBody, err := json.Marshal(forOther)
	require.NoError(t, err)
	forOther["user_id"], forOther["customer_id"] = f.other, nil
	delete(forOther, "customer_id")
	forOtherUserBody, err := json.Marshal(forOther)
	require.NoError(t, err)
	forOther["user_id"] = uuid.NewString()
	forNobody, err := json.Marshal(forOther)
	require.NoError(t, err)
	adminToken, err := auth.Issue(f.secret, "ops", time.Hour, auth.RoleAdmin)
	require.NoError(t, err)
	// edited is a valid order body with one change.
	edited := func(edit func(map[string]any)) []byte {
		in := map[string]any{}
		require.NoError(t, json.Unmarshal(orderBody(t, "k", f.product, 1), &in))
		edit(in)
		b, err := json.Marshal(in)
		require.NoError(t, err)
		return b
	}
	longStreet := edited(func(in map[string]any) {
		in["shipping_address"].(map[string]any)["street"] = strings.Repeat("x", 512<<10)
	})
	noPayment := edited(func(in map[string]any) { delete(in, "payment_method") })

	cases := []errorCase{
		{name: "no token", method: http.MethodGet, path: "/api/v1/orders/" + otherOrder, status: 401, code: "UNAUTHENTICATED"},
		{name: "expired token", method: http.MethodPost, path: "/api/v1/orders", token: expired, body: orderBody(t, "k", f.product, 1), status: 401, code: "UNAUTHENTICATED", message: "expired"},
		{name: "unknown order", method: http.MethodGet, path: "/api/v1/orders/" + uuid.NewString(), token: token, status: 404, code: "NOT_FOUND"},
		{name: "someone else's order", method: http.MethodGet, path: "/api/v1/orders/" + otherOrder, token: token, status: 404, code: "NOT_FOUND"},
		{name: "someone else's order status", method: http.MethodGet, path: "/api/v1/orders/" + otherOrder + "/status", token: token, status: 404, code: "NOT_FOUND"},
		{name: "ordering for someone else", method: http.MethodPost, path: "/api/v1/orders", token: token, body: forOtherBody, status: 403, code: "FORBIDDEN"},
		{name: "zero items", method: http.MethodPost, path: "/api/v1/orders", token: token, body: orderBody(t, "k"), status: 422, code: "INVALID_ORDER_DATA", field: "items"},
		{name: "negative quantity", method: http.MethodPost, path: "/api/v1/orders", token: token, body: orderBody(t, "k", f.product, -2), status: 422, code: "INVALID_ORDER_DATA", field: "items[0].quantity"},
		{name: "unknown product", method: http.MethodPost, path: "/api/v1/orders", token: token, body: orderBody(t, "k", uuid.NewString(), 1), status: 422, code: "INVALID_ORDER_DATA", field: "items"},
		{name: "quantity as a string", method: http.MethodPost, path: "/api/v1/orders", token: token, body: orderBody(t, "k", f.product, "1"), status: 400, code: "INVALID_ORDER_DATA", field: "items.quantity"},
		{name: "unknown field", method: http.MethodPost, path: "/api/v1/orders", token: token, body: []byte(`{"idempotency_key": "k", "discount": "100%"}`), status: 400, code: "INVALID_ORDER_DATA", field: "discount"},
		{name: "not JSON", method: http.MethodPost, path: "/api/v1/orders", token: token, body: []byte(`{"items": [`), status: 400, code: "INVALID_ORDER_DATA"},
		{name: "two JSON values", method: http.MethodPost, path: "/api/v1/orders", token: token, body: append(orderBody(t, "k", f.product, 1), []byte(`{}`)...), status: 400, code: "INVALID_ORDER_DATA"},
		{name: "empty body", method: http.MethodPost, path: "/api/v1/orders", token: token, body: []byte{}, status: 400, code: "INVALID_ORDER_DATA"},
		{name: "quantity beyond 32 bits", method: http.MethodPost, path: "/api/v1/orders", token: token, body: orderBody(t, "k", f.product, 1<<40), status: 422, code: "INVALID_ORDER_DATA", field: "items[0].quantity", message: "10000"},
		{name: "two lines of one product", method: http.MethodPost, path: "/api/v1/orders", token: token, body: orderBody(t, "k", f.product, 1, f.product, 2), status: 422, code: "INVALID_ORDER_DATA", field: "items[1].productId"},
		{name: "half a MiB of street", method: http.MethodPost, path: "/api/v1/orders", token: token, body: longStreet, status: 422, code: "INVALID_ORDER_DATA", field: "shippingAddress.street", message: "200"},
		{name: "no payment method", method: http.MethodPost, path: "/api/v1/orders", token: token, body: noPayment, status: 422, code: "INVALID_ORDER_DATA", field: "paymentMethod.type"},
		{name: "blank idempotency key", method: http.MethodPost, path: "/api/v1/orders", token: token, body: orderBody(t, "  ", f.product, 1), status: 422, code: "INVALID_ORDER_DATA", field: "idempotencyKey"},
		{name: "idempotency key over the bound", method: http.MethodPost, path: "/api/v1/orders", token: token, body: orderBody(t, "", f.product, 1),
			header: map[string]string{"Idempotency-Key": strings.Repeat("k", 201)}, status: 422, code: "INVALID_ORDER_DATA", field: "idempotencyKey"},
		{name: "ordering for someone else as user_id", method: http.MethodPost, path: "/api/v1/orders", token: token, body: forOtherUserBody, status: 403, code: "FORBIDDEN"},
		{name: "min_version not a number", method: http.MethodGet, path: "/api/v1/orders/" + otherOrder + "/status?min_version=latest", token: token, status: 400, code: "INVALID_ORDER_DATA", field: "min_version"},
		{name: "an order the read model does not have yet", method: http.MethodGet, path: "/api/v1/orders/" + uuid.NewString() + "?min_version=1", token: token, status: 503, code: "INTERNAL", retryable: true},
		{name: "unknown customer", method: http.MethodPost, path: "/api/v1/orders", token: adminToken, body: forNobody, status: 404, code: "NOT_FOUND", field: "customerId"},
		{name: "header and body keys differ", method: http.MethodPost, path: "/api/v1/orders", token: token, body: orderBody(t, "body-key", f.product, 1),
			header: map[string]string{"Idempotency-Key": "header-key"}, status: 400, code: "INVALID_ORDER_DATA", field: "idempotency_key"},
		{name: "2 MiB body", method: http.MethodPost, path: "/api/v1/orders", token: token,
			body: []byte(`{"idempotency_key": "` + strings.Repeat("k", 2<<20) + `"}`), status: 413, code: "INVALID_ORDER_DATA"},
		{name: "unknown endpoint", method: http.MethodGet, path: "/api/v1/customers", token: token, status: 404, code: "NOT_FOUND"},
		{name: "wrong method", method: http.MethodDelete, path: "/api/v1/orders/" + otherOrder, token: token, status: 405, code: "INVALID_ORDER_DATA"},
		{name: "wrong method on the collection", method: http.MethodGet, path: "/api/v1/orders", token: token, status: 405, code: "INVALID_ORDER_DATA"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := f.do(t, tc.method, tc.path, tc.token, tc.body, tc.header)
			require.Equal(t, tc.status, res.status, "body: %s", res.body)
			require.Equal(t, "application/json", res.header.Get("Content-Type"))
			got := decode[apiError](t, res).Error
			require.Equal(t, tc.code, got.Code)
			require.NotEmpty(t, got.Message)
			require.NotNil(t, got.Details, "details is always an object")
			require.NotEmpty(t, got.RequestID)
			require.Equal(t, res.header.Get(rest.RequestIDHeader), got.RequestID)
			require.WithinDuration(t, time.Now(), got.Timestamp, time.Minute)
			require.Equal(t, time.UTC, got.Timestamp.Location())
			if tc.field != "" {
				require.Equal(t, tc.field, got.Details["field"])
			}
			if tc.message != "" {
				require.Contains(t, got.Message, tc.message)
			}
			if tc.status == http.StatusUnauthorized {
				require.NotEmpty(t, res.header.Get("WWW-Authenticate"))
			}
			if tc.retryable {
				require.Equal(t, true, got.Details["retryable"])
				require.Equal(t, rest.RetryAfterSeconds, res.header.Get("Retry-After"))
			}
		})
	}
	t.Cleanup(func() {
		require.Equal(t, before, f.eventCount(t), "refused requests change nothing")
	})
}

func TestPanicBecomesInternalError(t *testing.T) {
	t.Parallel()
	// The zero Application panics once past authentication.
	secret := []byte("offline-secret")
	srv := httptest.NewServer(rest.NewHandler(app.Application{}, secret, nil))
	t.Cleanup(srv.Close)
	f := &fixture{url: srv.URL, secret: secret}

	res := f.do(t, http.MethodGet, "/api/v1/orders/o1", f.token(t, uuid.NewString()), nil, nil)
	require.Equal(t, http.StatusInternalServerError, res.status)
	got := decode[apiError](t, res).Error
	require.Equal(t, "INTERNAL", got.Code)
	require.Equal(t, "internal error", got.Message)
	require.Empty(t, got.Details)
	require.NotNil(t, got.Details)
	require.Equal(t, res.header.Get(rest.RequestIDHeader), got.RequestID)
	require.WithinDuration(t, time.Now(), got.Timestamp, time.Minute)
}
