package rest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/errcode"
)

// FuzzDecodePlaceOrder feeds the REST placement decoder arbitrary bodies:
// each is either refused with INVALID_ORDER_DATA (413 when too large) or
// decoded into the application's command, never a panic.
func FuzzDecodePlaceOrder(f *testing.F) {
	for _, seed := range []string{
		`{"idempotency_key":"k","items":[{"product_id":"p","quantity":1}],"shipping_address":{"street":"1 Main St","city":"Springfield","zip":"12345","country":"US"},"payment_method":{"type":"card","token":"tok"}}`,
		`{"items":[{"product_id":"p","quantity":2147483648}]}`,
		`{"items":[{"product_id":"p","quantity":1e3}]}`,
		`{"user_id":"u","items":[{"product_id":"p","quantity":2,"unit_price":29.99}]}`,
		`{"items":[{"product_id":"p","quantity":2,"unit_price":"29.99"},{"product_id":"q","quantity":1,"unit_price":1e2}]}`,
		`{"items":[{"product_id":"p","quantity":2,"unit_price":{"amount":1}}]}`,
		`{"items":[{"product_id":"p","quantity":-1}],"billing_address":null,"payment_method":null}`,
		`{"shipping_address":{"street":"\u0000"}}`,
		`{"unknown":1}`,
		`{} {}`,
		`[]`,
		``,
		`{"items":`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/api/v1/orders", bytes.NewReader(body))
		var req placeOrderRequest
		status, err := decodeJSON(w, r, &req)
		if err != nil {
			require.True(t, errcode.Is(err, errcode.InvalidOrderData), err.Error())
			require.Contains(t, []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge}, status)
			return
		}
		cmd, err := req.command("")
		if err != nil {
			require.True(t, errcode.Is(err, errcode.InvalidOrderData), err.Error())
			return
		}
		require.Len(t, cmd.Items, len(req.Items))
		require.NotEmpty(t, cmd.IdempotencyKey)
	})
}
