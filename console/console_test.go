package console_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/auth"
)

func get(t *testing.T, url, token string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, res.Header, string(body)
}

// The pages are shells without data, served to anyone; the data comes only
// in fragments, and only for a token the API lets read it. Every asset is
// served by orderflow itself.
func TestConsoleServesShellsAndAssetsAndDataOnlyToAdmins(t *testing.T) {
	t.Parallel()
	f := setup(t)
	base := f.sys.URL
	placed := f.placeOrder(t, f.customer.ID)

	for _, path := range []string{"/console/orders?text=ada&status=PENDING", "/console/orders/" + placed.ID, "/console/sign-in", "/console/health", "/console/dead-letters"} {
		code, h, body := get(t, base+path, "")
		require.Equal(t, http.StatusOK, code, path)
		require.Contains(t, h.Get("Content-Security-Policy"), "default-src 'self'", path)
		require.Contains(t, body, `src="/console/assets/htmx-2.0.11.min.js"`, path)
		require.NotContains(t, body, "http://", path+": nothing from elsewhere")
		require.NotContains(t, body, "https://", path+": nothing from elsewhere")
	}
	_, _, body := get(t, base+"/console/orders?text=ada&status=PENDING", "")
	require.Contains(t, body, `value="ada"`, "the filter from the URL fills the form")
	require.Contains(t, body, `/console/fragments/orders?status=PENDING&amp;text=ada`)

	for _, asset := range []string{"htmx-2.0.11.min.js", "console.js", "console.css"} {
		code, _, body := get(t, base+"/console/assets/"+asset, "")
		require.Equal(t, http.StatusOK, code, asset)
		require.NotEmpty(t, body, asset)
	}
	code, _, _ := get(t, base+"/console", "")
	require.Equal(t, http.StatusOK, code, "/console leads to the orders page")

	customer := f.token(t, f.customer.ID, auth.RoleCustomer)
	for _, tc := range []struct{ path, token, code string }{
		{"/console/fragments/orders", "", "UNAUTHENTICATED"},
		{"/console/fragments/orders", customer, "FORBIDDEN"},
		{"/console/fragments/health", customer, "FORBIDDEN"},
		{"/console/fragments/orders", "not-a-token", "UNAUTHENTICATED"},
		{"/console/fragments/orders?from=yesterday", f.admin, "INVALID_ORDER_DATA"},
		{"/console/fragments/orders/no-such-order", f.admin, "NOT_FOUND"},
		{"/console/fragments/orders/" + placed.ID, f.token(t, f.registerCustomer(t, "Other").ID, auth.RoleCustomer), "FORBIDDEN"},
	} {
		code, h, body := get(t, base+tc.path, tc.token)
		require.Equal(t, http.StatusOK, code, tc.path)
		require.Equal(t, "no-store", h.Get("Cache-Control"), tc.path)
		require.Contains(t, body, `data-error-code="`+tc.code+`"`, tc.path)
		require.NotContains(t, body, placed.ID, tc.path)
	}

	require.Eventually(t, func() bool {
		_, _, body = get(t, base+"/console/fragments/orders/"+placed.ID, f.admin)
		return strings.Contains(body, `data-status="PENDING"`)
	}, 30*time.Second, 100*time.Millisecond, "the order is in the read model")
	require.Contains(t, body, "Blue mug")
	require.Contains(t, body, f.customer.Email)
	require.Contains(t, body, "OrderPlaced", "the events are listed")
}
