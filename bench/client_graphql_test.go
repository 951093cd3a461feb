package bench

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// setupGraphQL serves handler at /graphql and returns a client of it.
func setupGraphQL(t *testing.T, handler http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	c := NewClient(srv.URL+"/graphql", time.Second)
	t.Cleanup(c.Close)
	return c
}

func TestClientDecodesDataAndSendsToken(t *testing.T) {
	t.Parallel()
	c := setupGraphQL(t, func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "Bearer tok", r.Header.Get("Authorization"))
		assert.Equal(t, http.MethodPost, r.Method)
		var req gqlRequest
		assert.NoError(t, json.NewDecoder(r.Body).Decode(&req))
		assert.Equal(t, productQuery, req.Query)
		assert.Equal(t, map[string]any{"id": "p-1"}, req.Variables)
		_, _ = w.Write([]byte(`{"data":{"product":{"id":"p-1","price":"1.00","available":7,"reserved":2}}}`))
	})
	p, err := c.Product(context.Background(), "tok", "p-1")
	require.NoError(t, err)
	require.Equal(t, Product{ID: "p-1", Price: "1.00", Available: 7, Reserved: 2}, p)
}

func TestClientErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		status int
		body   string
		code   string
	}{
		"coded error":      {200, `{"errors":[{"message":"no","extensions":{"code":"NOT_FOUND"}}],"data":null}`, "NOT_FOUND"},
		"validation (422)": {422, `{"errors":[{"message":"bad","extensions":{"code":"INVALID_ORDER_DATA"}}]}`, "INVALID_ORDER_DATA"},
		"uncoded error":    {200, `{"errors":[{"message":"??"}]}`, CodeNoCode},
		"not graphql":      {503, `upstream down`, CodeBadResponse},
		"empty object":     {200, `{}`, CodeBadResponse},
		"null order":       {200, `{"data":{"order":null}}`, "NOT_FOUND"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := setupGraphQL(t, func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			})
			_, err := c.OrderStatus(context.Background(), "", "o-1")
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			require.Equal(t, tc.code, apiErr.Code)
			require.Equal(t, tc.code, errorCode(err))
		})
	}
}

func TestClientTimeoutAndTransport(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	c := setupGraphQL(t, func(http.ResponseWriter, *http.Request) { <-release })
	defer close(release)
	c.timeout = 50 * time.Millisecond
	_, err := c.OrderStatus(context.Background(), "", "o-1")
	require.Equal(t, CodeTimeout, errorCode(err))

	dead := NewClient("http://127.0.0.1:1/graphql", time.Second)
	_, err = dead.OrderStatus(context.Background(), "", "o-1")
	require.Equal(t, CodeTransport, errorCode(err))
	require.Equal(t, CodeTransport, errorCode(errors.New("plain")))
}

func TestDefiniteRefusals(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"INVALID_ORDER_DATA", "UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND"} {
		require.True(t, definite(&APIError{Code: code}), code)
	}
	for _, code := range []string{"INTERNAL", "CONFLICT", CodeTimeout, CodeTransport, CodeBadResponse} {
		require.False(t, definite(&APIError{Code: code}), "%s may have placed the order", code)
	}
}

func TestPlaceOrderSendsAWellFormedOrder(t *testing.T) {
	t.Parallel()
	c := setupGraphQL(t, func(w http.ResponseWriter, r *http.Request) {
		var req gqlRequest
		assert.NoError(t, json.NewDecoder(r.Body).Decode(&req))
		in := req.Variables["in"].(map[string]any)
		assert.Equal(t, "key-1", in["idempotencyKey"])
		assert.Equal(t, []any{map[string]any{"productId": "p-1", "quantity": float64(2)}}, in["items"])
		assert.Contains(t, in, "shippingAddress")
		assert.Contains(t, in, "paymentMethod")
		_, _ = w.Write([]byte(`{"data":{"placeOrder":{"sagaId":"o-1","order":{"id":"o-1","status":"PENDING","version":1,"totalAmount":"2.00","customerId":"c","items":[]}}}}`))
	})
	o, err := c.PlaceOrder(context.Background(), "tok", "key-1", []OrderItem{{ProductID: "p-1", Quantity: 2}})
	require.NoError(t, err)
	require.Equal(t, "o-1", o.ID)
	require.Equal(t, "PENDING", o.Status)
}
