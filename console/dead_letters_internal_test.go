package console

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDeadLetterFilterRoundTripsThroughTheURL(t *testing.T) {
	t.Parallel()
	q, err := url.ParseQuery("handler=inventory.commands&aggregate=p-1&status=DEAD&class=TRANSIENT&type=inventory.ReserveStock&from=2026-11-01&to=2026-11-30&after=42")
	require.NoError(t, err)
	f := parseDeadLetterFilter(q)
	require.Equal(t, q, f.values())
	require.True(t, f.Active())
	require.False(t, parseDeadLetterFilter(url.Values{"after": {"42"}}).Active(), "a page is no filter")

	vars, err := f.graphQL()
	require.NoError(t, err)
	require.Equal(t, map[string]any{
		"handler": "inventory.commands", "aggregateId": "p-1", "status": "DEAD", "errorClass": "TRANSIENT",
		"type": "inventory.ReserveStock", "from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z",
	}, vars["filter"], "to is inclusive: the API's bound is exclusive")
	require.Equal(t, "42", vars["after"])
	require.Equal(t, deadLetterPageSize, vars["first"])

	narrowed := f.with("projections.orders", "WAITING")
	require.Equal(t, "/console/dead-letters?aggregate=p-1&class=WAITING&from=2026-11-01&handler=projections.orders&status=DEAD&to=2026-11-30&type=inventory.ReserveStock", narrowed.PageURL(),
		"a count's link narrows the search, from the first page")
	require.Equal(t, "/console/dead-letters", deadLetterFilter{}.PageURL())
	require.Equal(t, "DEAD", parseDeadLetterFilter(url.Values{"status": {" dead "}}).Status, "enum values in any case")

	for _, bad := range []url.Values{{"status": {"GONE"}}, {"class": {"FATAL"}}, {"from": {"yesterday"}}, {"to": {"2026-13-01"}}} {
		_, err = parseDeadLetterFilter(bad).graphQL()
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr, "%v", bad)
		require.Equal(t, "INVALID_ORDER_DATA", apiErr.Code)
	}
}

func TestDeadLetterShortErrorAndPayload(t *testing.T) {
	t.Parallel()
	long := deadLetterRow{Error: "first line " + strings.Repeat("x", 200) + "\nsecond"}
	require.Len(t, []rune(long.ShortError()), 120)
	require.NotContains(t, long.ShortError(), "second")
	require.Equal(t, "boom", deadLetterRow{Error: "boom\nstack"}.ShortError())

	require.Equal(t, "{\n  \"n\": 1\n}", deadLetterView{Payload: `{"n":1}`}.PrettyPayload())
	require.Equal(t, `{"productId":`, deadLetterView{Payload: `{"productId":`}.PrettyPayload(), "a payload that does not decode is shown as it is")
}
