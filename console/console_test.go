package console_test

import (
	"io"
	"net/http"
	"net/url"
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

	for _, path := range []string{"/console/orders?text=ada&status=PENDING", "/console/orders/" + placed.ID, "/console/sign-in", "/console/health", "/console/dead-letters?aggregate=x&status=DEAD", "/console/dead-letters/1"} {
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
	_, _, body = get(t, base+"/console/dead-letters?aggregate=x&status=DEAD&class=PERMANENT", "")
	require.Contains(t, body, `value="x"`, "the dead letters' filter from the URL fills the form")
	require.Contains(t, body, `<option value="DEAD" selected>`)
	require.Contains(t, body, `/console/fragments/dead-letters?aggregate=x&amp;class=PERMANENT&amp;status=DEAD`)

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
		{"/console/fragments/dead-letters", customer, "FORBIDDEN"},
		{"/console/fragments/dead-letters/1", customer, "FORBIDDEN"},
		{"/console/fragments/dead-letters", "", "UNAUTHENTICATED"},
		{"/console/fragments/dead-letters?status=GONE", f.admin, "INVALID_ORDER_DATA"},
		{"/console/fragments/dead-letters?from=yesterday", f.admin, "INVALID_ORDER_DATA"},
		{"/console/fragments/dead-letters/999999999", f.admin, "NOT_FOUND"},
		{"/console/fragments/dead-letters/x", f.admin, "INVALID_ORDER_DATA"},
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

	// The order's and the customer's documents are projected by
	// consumers of their own: the page names the customer by email once
	// the customer's is there too.
	require.Eventually(t, func() bool {
		_, _, body = get(t, base+"/console/fragments/orders/"+placed.ID, f.admin)
		return strings.Contains(body, `data-status="PENDING"`) && strings.Contains(body, f.customer.Email)
	}, 30*time.Second, 100*time.Millisecond, "the order and its customer are in the read model")
	require.Contains(t, body, "Blue mug")
	require.Contains(t, body, "OrderPlaced", "the events are listed")
}

func post(t *testing.T, url, token string, form url.Values) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, url)
	return string(body)
}

// The admin actions answer with what they did or the API's refusal and
// its code; a customer's token is refused each of them. The health
// fragment shows this process's circuit breakers.
func TestConsoleAdminActions(t *testing.T) {
	t.Parallel()
	f := setup(t)
	base := f.sys.URL
	placed := f.placeOrder(t, f.customer.ID)
	customer := f.token(t, f.customer.ID, auth.RoleCustomer)

	// The saga of a pending order waits on its reservation (no worker
	// runs): a re-drive sends it again.
	body := post(t, base+"/console/fragments/orders/"+placed.ID+"/redrive", f.admin, nil)
	require.Contains(t, body, "Saga re-driven (phase RESERVING): sent again inventory.ReserveStock", body)
	require.Contains(t, post(t, base+"/console/fragments/orders/no-such-order/redrive", f.admin, nil), `data-error-code="NOT_FOUND"`)

	for _, path := range []string{
		"/console/fragments/orders/" + placed.ID + "/redrive",
		"/console/fragments/dead-letters/1/replay",
		"/console/fragments/dead-letters/1/discard",
		"/console/fragments/dead-letters/replay",
	} {
		body := post(t, base+path, customer, url.Values{"reason": {"mine"}, "aggregateId": {placed.ID}})
		require.Contains(t, body, `data-error-code="FORBIDDEN"`, path)
	}
	for _, tc := range []struct {
		path string
		form url.Values
		code string
	}{
		{"/console/fragments/dead-letters/replay", nil, "INVALID_ORDER_DATA"},
		{"/console/fragments/dead-letters/999999999/discard", url.Values{"reason": {"gone"}}, "NOT_FOUND"},
		{"/console/fragments/dead-letters/1/discard", url.Values{"reason": {"  "}}, "INVALID_ORDER_DATA"},
	} {
		require.Contains(t, post(t, base+tc.path, f.admin, tc.form), `data-error-code="`+tc.code+`"`, tc.path)
	}
	body = post(t, base+"/console/fragments/dead-letters/replay", f.admin, url.Values{"aggregateId": {placed.ID}})
	require.Contains(t, body, "Nothing to replay", "the order has no dead letters")

	_, _, body = get(t, base+"/console/fragments/health", f.admin)
	for _, name := range []string{"elasticsearch", "payment_provider"} {
		require.Regexp(t, `data-breaker="`+name+`"><span class="badge status-confirmed">CLOSED</span>`, body)
	}
}
