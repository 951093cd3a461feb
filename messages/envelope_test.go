package messages_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/messages"
)

func TestEnvelopeHeadersRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 4, 5, 6, 7, 891011000, time.FixedZone("CET", 3600))
	env := messages.Envelope{
		EventID: "0190f7f2-8b1e-7c3a-9d1e-1234567890ab", EventType: messages.OrderPlaced{}.EventType(),
		StreamID: "order-1", StreamType: "Order", Version: 3, Position: 42,
		CorrelationID: "order-1", CausationID: "cmd-9", OccurredAt: at,
	}
	h := env.Headers()
	require.Equal(t, env.EventID, h[messages.HeaderWatermillUUID], "watermill's msg.UUID is the event id")
	require.Equal(t, "2026-03-04T04:06:07.891011Z", h[messages.HeaderOccurredAt])
	require.Equal(t, "3", h[messages.HeaderVersion])

	got, err := messages.ParseEnvelope(h)
	require.NoError(t, err)
	require.True(t, at.Equal(got.OccurredAt))
	got.OccurredAt = at
	require.Equal(t, env, got)
}

func TestEnvelopeLeavesOutEmptyIDs(t *testing.T) {
	t.Parallel()
	h := messages.Envelope{EventID: "e", EventType: "t", StreamID: "s", Version: 1}.Headers()
	require.NotContains(t, h, messages.HeaderCorrelationID)
	require.NotContains(t, h, messages.HeaderCausationID)
	env, err := messages.ParseEnvelope(h)
	require.NoError(t, err)
	require.Empty(t, env.CorrelationID)
}

func TestParseEnvelopeNamesEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := messages.ParseEnvelope(map[string]string{
		messages.HeaderVersion:    "zero",
		messages.HeaderPosition:   "x",
		messages.HeaderOccurredAt: "yesterday",
	})
	require.Error(t, err)
	for _, want := range []string{"event_id is missing", "event_type is missing", "stream_id is missing", "not a version", "not a position", "not an RFC 3339 time"} {
		require.ErrorContains(t, err, want)
	}
}

func TestEventsTopic(t *testing.T) {
	t.Parallel()
	require.Equal(t, messages.OrderingEventsTopic, messages.EventsTopic("ordering"))
	require.Equal(t, messages.InventoryEventsTopic, messages.EventsTopic("inventory"))
	require.Equal(t, messages.PaymentsEventsTopic, messages.EventsTopic("payments"))
}
