package app

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A subscription's own reads of its order's stream thin out as it stays
// open: 2 s, 4 s, 8 s, ... one minute apart at most, so a backlog that
// keeps thousands of orders open does not turn into thousands of reads a
// second, while a missed change still shows within a minute.
func TestSubscriptionRechecksBackOffToAMinute(t *testing.T) {
	t.Parallel()
	var waits []time.Duration
	for w := recheckFirst; len(waits) < 8; w = nextRecheck(w) {
		waits = append(waits, w)
	}
	require.Equal(t, []time.Duration{
		2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second,
		32 * time.Second, time.Minute, time.Minute, time.Minute,
	}, waits)
}
