package outbox_test

import (
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/command/outbox"
	"github.com/orderflow/orderflow/internal/deadletter"
	"github.com/orderflow/orderflow/messages"
)

// A stream the broker refuses is a dead letter of the relay: the operator
// finds it in the dead-letter store, cannot discard it (its waiting events
// would be lost), and replays it once the cause is gone; the relay then
// publishes the stream in order and the dead letter is resolved.
func TestBlockedStreamIsADeadLetterTheOperatorReplays(t *testing.T) {
	t.Parallel()
	f := setup(t, 1)
	ctx := t.Context()
	store := deadletter.NewStore(f.env.Pool, f.env.Config.Namespace, nil)
	outbox.OwnDeadLetters(store, f.env.Pool, schema)
	a, b := "product-a-"+uuid.NewString()[:8], "product-b-"+uuid.NewString()[:8]

	f.insertEvent(t, messages.ProductCreated{ProductID: a, SKU: "A", Name: "Lamp", Price: 100}, 1)
	bad := f.insertEvent(t, messages.ProductRestocked{ProductID: a, Quantity: 2}, 2)
	f.insertEvent(t, messages.ProductRestocked{ProductID: a, Quantity: 3}, 3)
	require.NoError(t, f.appendEvents(ctx, b, 2))

	var fixed atomic.Bool
	pub := &testPublisher{refuse: func(e eventstore.Record) bool { return !fixed.Load() && e.EventID == bad.EventID }}
	cfg := f.testConfig()
	cfg.DeadLetters = store
	relay := f.startRelay(t, cfg, pub)
	c := f.consume(t)
	require.Eventually(t, func() bool { return len(c.deliveredOf(b)) == 2 }, deliveryTimeout, tick)
	require.Eventually(t, func() bool { return relay.metric(t, "orderflow_relay_blocked_streams") == 1 }, deliveryTimeout, tick)

	var page deadletter.Page
	require.Eventually(t, func() bool {
		var err error
		page, err = store.List(ctx, deadletter.Filter{AggregateID: a}, 10, 0)
		require.NoError(t, err)
		return page.Total == 1
	}, deliveryTimeout, tick)
	e := page.Entries[0]
	require.Equal(t, outbox.DeadLetterHandler(schema), e.Handler)
	require.Equal(t, bad.EventID.String(), e.MessageID)
	require.Equal(t, deadletter.StatusDead, e.Status)
	require.Equal(t, deadletter.Permanent, e.Class)
	require.Equal(t, "inventory.ProductRestocked", e.Type)

	err := store.Discard(ctx, e.ID, "drop it", "ops")
	require.Error(t, err, "a blocked stream cannot be discarded")

	// Replayed while still refused: recorded again, still dead.
	changed, err := store.Replay(ctx, []int64{e.ID}, "", "ops")
	require.NoError(t, err)
	require.Equal(t, []int64{e.ID}, changed)
	require.Eventually(t, func() bool {
		got, err := store.Get(ctx, e.ID)
		require.NoError(t, err)
		return got.Status == deadletter.StatusDead && got.Attempts == 2
	}, deliveryTimeout, tick)
	require.Equal(t, []int{1}, c.deliveredOf(a))

	// The cause is gone: the replay publishes A in order and resolves it.
	fixed.Store(true)
	_, err = store.Replay(ctx, nil, a, "ops")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return relay.metric(t, "orderflow_relay_blocked_streams") == 0 }, deliveryTimeout, tick)
	f.requireAllDelivered(t, c)
	require.Equal(t, []int{1, 2, 3}, c.deliveredOf(a))
	var got *deadletter.Entry
	require.Eventually(t, func() bool {
		got, err = store.Get(ctx, e.ID)
		require.NoError(t, err)
		return got.Status == deadletter.StatusReplayed
	}, deliveryTimeout, tick)
	var trail []string
	for _, a := range got.Actions {
		trail = append(trail, a.Action+"/"+a.Actor)
	}
	require.Equal(t, []string{"dead/inventory.relay", "replay_requested/ops", "dead/inventory.relay", "replay_requested/ops", "replayed/inventory.relay"}, trail)
}
