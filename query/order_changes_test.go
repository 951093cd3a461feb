package query

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOrderChangesReachOnlyWatchersOfTheOrder(t *testing.T) {
	t.Parallel()
	c := NewOrderChanges()
	a, stopA := c.Watch("o1")
	b, stopB := c.Watch("o2")
	defer stopB()
	require.True(t, c.Watched("o1"))
	require.False(t, c.Watched("o3"))

	for v := 1; v <= 3; v++ {
		c.Notify(OrderChange{OrderID: "o1", Version: v})
	}
	require.Len(t, a, 3)
	require.Len(t, b, 0)
	for v := 1; v <= 3; v++ {
		require.Equal(t, v, (<-a).Version, "in the order of the feed")
	}

	// A watcher that falls behind loses changes instead of blocking the
	// feed; it finds the gap by version.
	for v := 4; v <= 4+changeBuffer+5; v++ {
		c.Notify(OrderChange{OrderID: "o1", Version: v})
	}
	require.Len(t, a, changeBuffer)

	stopA()
	require.False(t, c.Watched("o1"))
	require.NotContains(t, c.subs, "o1", "nobody watches o1 any more")
}
