package console

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOrderFilterRoundTripsThroughTheURL(t *testing.T) {
	t.Parallel()
	q, err := url.ParseQuery("text=ada&status=PENDING&status=FAILED&step=ORDER_CREATED&from=2026-11-01&to=2026-11-30&min=1.00&max=99.99&sort=TOTAL_DESC&after=abc")
	require.NoError(t, err)
	f := parseOrderFilter(q)
	require.Equal(t, q, f.values())

	vars, err := f.graphQL()
	require.NoError(t, err)
	filter := vars["filter"].(map[string]any)
	require.Equal(t, "2026-11-01T00:00:00Z", filter["createdFrom"])
	require.Equal(t, "2026-12-01T00:00:00Z", filter["createdTo"], "to is inclusive: the API's bound is exclusive")
	require.Equal(t, []string{"PENDING", "FAILED"}, filter["status"])
	require.Equal(t, "abc", vars["after"])

	on := f.toggleStatus("CONFIRMED")
	require.Equal(t, []string{"PENDING", "FAILED", "CONFIRMED"}, on.Statuses)
	require.Empty(t, on.After, "a new filter starts from the first page")
	off := f.toggleStatus("PENDING")
	require.Equal(t, []string{"FAILED"}, off.Statuses)
	require.Equal(t, []string{"PENDING", "FAILED"}, f.Statuses, "the search itself is unchanged")
	require.Equal(t, []string{"ORDER_CREATED", "INVENTORY_RESERVED"}, f.toggleStep("INVENTORY_RESERVED").Steps)

	_, err = parseOrderFilter(url.Values{"from": {"yesterday"}}).graphQL()
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "INVALID_ORDER_DATA", apiErr.Code)
}
