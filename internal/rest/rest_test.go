package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/orderflow/orderflow/internal/rest"
	"github.com/orderflow/orderflow/internal/systemtest"
	"github.com/orderflow/orderflow/internal/testenv"
)

// The REST API end to end over HTTP against the real servers. A placement
// starts its order's saga, which reserves the stock, but the saga's event
// handlers do not run here, so orders stay PENDING.

type fixture struct {
	url     string
	secret  []byte
	env     *testenv.Env
	product string
	// customer and other are two customers with funds.
	customer, other string
}

func setup(t *testing.T) *fixture {
	t.Helper()
	sys := systemtest.Start(t, systemtest.Options{API: true, NoSaga: true})
	ctx := context.Background()
	application := sys.App
	secret := []byte(sys.Env.Config.JWTSecret)
	env := sys.Env

	admin := auth.Principal{Subject: "admin-1", Roles: []auth.Role{auth.RoleAdmin}}
	p, err := application.Commands.CreateProduct.Handle(ctx, admin, app.CreateProduct{SKU: "MUG", Name: "Mug", Price: 1250, InitialStock: 10})
	require.NoError(t, err)
	c1, err := application.Commands.RegisterCustomer.Handle(ctx, admin, app.RegisterCustomer{Email: "a@example.com", Name: "A", InitialCredit: 10000})
	require.NoError(t, err)
	c2, err := application.Commands.RegisterCustomer.Handle(ctx, admin, app.RegisterCustomer{Email: "b@example.com", Name: "B", InitialCredit: 10000})
	require.NoError(t, err)
	return &fixture{url: sys.URL, secret: secret, env: env, product: p.ID, customer: c1.ID, other: c2.ID}
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
	Order  orderJSON `json:"order"`
	SagaID string    `json:"saga_id"`
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

	res := f.do(t, http.MethodPost, "/api/v1/orders", token, orderBody(t, "", f.product, 3), map[string]string{"Idempotency-Key": "rest-1"})
	require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
	got := decode[placed](t, res)
	o := got.Order
	require.Equal(t, o.ID, got.SagaID)
	require.Equal(t, "/api/v1/orders/"+o.ID, res.header.Get("Location"))
	require.Equal(t, "PENDING", o.Status)
	require.Equal(t, f.customer, o.CustomerID)
	require.Len(t, o.Items, 1)
	require.Equal(t, "12.50", o.Items[0].UnitPrice, "the catalog price")
	require.Equal(t, "Mug", o.Items[0].ProductName)
	require.Equal(t, "37.50", o.TotalAmount)
	require.Equal(t, "USD", o.Currency)
	require.Equal(t, "null", string(o.Failure))
	require.Equal(t, 1, o.Version)
	require.Equal(t, app.OrderID(f.customer, "rest-1"), o.ID)

	// A retry, this time with the key in the body, answers the same order.
	res = f.do(t, http.MethodPost, "/api/v1/orders", token, orderBody(t, "rest-1", f.product, 3), nil)
	require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
	require.Equal(t, o, decode[placed](t, res).Order)

	res = f.do(t, http.MethodGet, "/api/v1/orders/"+o.ID+"?min_version=1", token, nil, nil)
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	require.Equal(t, o, decode[orderJSON](t, res))

	res = f.do(t, http.MethodGet, "/api/v1/orders/"+o.ID+"/status?min_version=1", token, nil, nil)
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	var status map[string]any
	require.NoError(t, json.Unmarshal(res.body, &status))
	require.Equal(t, "PENDING", status["status"])
	require.Equal(t, "ORDER_CREATED", status["current_step"])
	require.Equal(t, []any{"ORDER_CREATED"}, status["completed_steps"])
	require.Equal(t, []any{"INVENTORY_RESERVED", "PAYMENT_AUTHORIZED", "ORDER_CONFIRMED"}, status["pending_steps"])
	lastUpdated, err := time.Parse(time.RFC3339Nano, status["last_updated"].(string))
	require.NoError(t, err)
	require.True(t, lastUpdated.Equal(o.UpdatedAt))
}

type errorCase struct {
	name, method, path, token string
	body                      []byte
	header                    map[string]string
	status                    int
	code, field, message      string
}

func TestErrorsAreCodedJSON(t *testing.T) {
	t.Parallel()
	f := setup(t)
	token := f.token(t, f.customer)
	otherToken := f.token(t, f.other)
	res := f.do(t, http.MethodPost, "/api/v1/orders", otherToken, orderBody(t, "other-1", f.product, 1), nil)
	require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
	otherOrder := decode[placed](t, res).Order.ID
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
		{name: "zero items", method: http.MethodPost, path: "/api/v1/orders", token: token, body: orderBody(t, "k"), status: 400, code: "INVALID_ORDER_DATA", field: "items"},
		{name: "negative quantity", method: http.MethodPost, path: "/api/v1/orders", token: token, body: orderBody(t, "k", f.product, -2), status: 400, code: "INVALID_ORDER_DATA", field: "items[0].quantity"},
		{name: "unknown product", method: http.MethodPost, path: "/api/v1/orders", token: token, body: orderBody(t, "k", uuid.NewString(), 1), status: 400, code: "INVALID_ORDER_DATA", field: "items"},
		{name: "quantity as a string", method: http.MethodPost, path: "/api/v1/orders", token: token, body: orderBody(t, "k", f.product, "1"), status: 400, code: "INVALID_ORDER_DATA", field: "items.quantity"},
		{name: "unknown field", method: http.MethodPost, path: "/api/v1/orders", token: token, body: []byte(`{"idempotency_key": "k", "discount": "100%"}`), status: 400, code: "INVALID_ORDER_DATA", field: "discount"},
		{name: "not JSON", method: http.MethodPost, path: "/api/v1/orders", token: token, body: []byte(`{"items": [`), status: 400, code: "INVALID_ORDER_DATA"},
		{name: "two JSON values", method: http.MethodPost, path: "/api/v1/orders", token: token, body: append(orderBody(t, "k", f.product, 1), []byte(`{}`)...), status: 400, code: "INVALID_ORDER_DATA"},
		{name: "empty body", method: http.MethodPost, path: "/api/v1/orders", token: token, body: []byte{}, status: 400, code: "INVALID_ORDER_DATA"},
		{name: "quantity beyond 32 bits", method: http.MethodPost, path: "/api/v1/orders", token: token, body: orderBody(t, "k", f.product, 1<<40), status: 400, code: "INVALID_ORDER_DATA", field: "items[0].quantity", message: "10000"},
		{name: "two lines of one product", method: http.MethodPost, path: "/api/v1/orders", token: token, body: orderBody(t, "k", f.product, 1, f.product, 2), status: 400, code: "INVALID_ORDER_DATA", field: "items[1].productId"},
		{name: "half a MiB of street", method: http.MethodPost, path: "/api/v1/orders", token: token, body: longStreet, status: 400, code: "INVALID_ORDER_DATA", field: "shippingAddress.street", message: "200"},
		{name: "no payment method", method: http.MethodPost, path: "/api/v1/orders", token: token, body: noPayment, status: 400, code: "INVALID_ORDER_DATA", field: "paymentMethod.type"},
		{name: "no idempotency key", method: http.MethodPost, path: "/api/v1/orders", token: token, body: orderBody(t, "", f.product, 1), status: 400, code: "INVALID_ORDER_DATA", field: "idempotencyKey"},
		{name: "header and body keys differ", method: http.MethodPost, path: "/api/v1/orders", token: token, body: orderBody(t, "body-key", f.product, 1),
			header: map[string]string{"Idempotency-Key": "header-key"}, status: 400, code: "INVALID_ORDER_DATA", field: "idempotency_key"},
		{name: "2 MiB body", method: http.MethodPost, path: "/api/v1/orders", token: token,
			body: []byte(`{"idempotency_key": "` + strings.Repeat("k", 2<<20) + `"}`), status: 413, code: "INVALID_ORDER_DATA"},
		{name: "unknown endpoint", method: http.MethodGet, path: "/api/v1/customers", token: token, status: 404, code: "NOT_FOUND"},
		{name: "wrong method", method: http.MethodDelete, path: "/api/v1/orders/" + otherOrder, token: token, status: 405, code: "INVALID_ORDER_DATA"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := f.do(t, tc.method, tc.path, tc.token, tc.body, tc.header)
			require.Equal(t, tc.status, res.status, "body: %s", res.body)
			require.Equal(t, "application/json", res.header.Get("Content-Type"))
			var got struct {
				Code      string         `json:"code"`
				Message   string         `json:"message"`
				Details   map[string]any `json:"details"`
				RequestID string         `json:"request_id"`
			}
			dec := json.NewDecoder(bytes.NewReader(res.body))
			dec.DisallowUnknownFields()
			require.NoError(t, dec.Decode(&got), "body: %s", res.body)
			require.Equal(t, tc.code, got.Code)
			require.NotEmpty(t, got.Message)
			require.NotNil(t, got.Details, "details is always an object")
			require.NotEmpty(t, got.RequestID)
			require.Equal(t, res.header.Get(rest.RequestIDHeader), got.RequestID)
			if tc.field != "" {
				require.Equal(t, tc.field, got.Details["field"])
			}
			if tc.message != "" {
				require.Contains(t, got.Message, tc.message)
			}
			if tc.status == http.StatusUnauthorized {
				require.NotEmpty(t, res.header.Get("WWW-Authenticate"))
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
	var got map[string]any
	require.NoError(t, json.Unmarshal(res.body, &got))
	require.Equal(t, map[string]any{
		"code": "INTERNAL", "message": "internal error", "details": map[string]any{}, "request_id": res.header.Get(rest.RequestIDHeader),
	}, got)
}
