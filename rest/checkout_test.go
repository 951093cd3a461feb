package rest_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// ?wait= makes the REST placement synchronous: with the saga not running
// (setup), the wait ends with the order processing and still_running true; a
// bad wait is refused before anything is placed.
func TestPlaceOrderWithWait(t *testing.T) {
	t.Parallel()
	f := setup(t)
	token := f.token(t, f.customer)

	res := f.do(t, http.MethodPost, "/api/v1/orders?wait=300ms", token, orderBody(t, "wait-1", f.product, 1), nil)
	require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
	var got struct {
		Status       string `json:"status"`
		StillRunning bool   `json:"still_running"`
	}
	require.NoError(t, json.Unmarshal(res.body, &got))
	require.True(t, got.StillRunning)
	require.Equal(t, "processing", got.Status)

	before := f.eventCount(t)
	res = f.do(t, http.MethodPost, "/api/v1/orders?wait=1h", token, orderBody(t, "wait-2", f.product, 1), nil)
	require.Equal(t, http.StatusBadRequest, res.status, "body: %s", res.body)
	require.Contains(t, string(res.body), `"field":"wait"`)
	require.Equal(t, before, f.eventCount(t), "nothing placed")
}
