package query

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOrderChangesSignalOnlyWatchersOfTheOrder(t *testing.T) {
	t.Parallel()
	c := NewOrderChanges()
	a, stopA := c.Watch("o1")
	b, stopB := c.Watch("o2")
	defer stopB()

	// Signals coalesce and never block the feed.
	for range 3 {
		c.Notify("o1")
	}
	require.Len(t, a, 1)
	require.Len(t, b, 0)
	<-a

	stopA()
	c.Notify("o1")
	require.Len(t, a, 0, "a stopped watcher gets nothing")
	require.NotContains(t, c.subs, "o1", "nobody watches o1 any more")
}
