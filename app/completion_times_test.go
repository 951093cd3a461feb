package app

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/query"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

var (
	placed    = messages.OrderPlaced{}.EventType()
	confirmed = messages.OrderConfirmed{}.EventType()
	failed    = messages.OrderFailed{}.EventType()
)

// An order's end to end runs from its OrderPlaced to its final event, as
// recorded; other events, and final events of orders whose placement was
// not seen, measure nothing. Below MinCompletionSamples the default
// stands in; the window forgets old samples.
func TestCompletionTimesMeasurePlacementToFinalEvent(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	c := NewCompletionTimes(clock.now)
	start := clock.t

	require.Equal(t, CompletionStats{Median: DefaultCompletionEstimate, P90: DefaultCompletionEstimate}, c.Stats())
	c.Observe("unseen", confirmed, start)
	c.Observe("o-0", messages.OrderStepCompleted{}.EventType(), start)
	require.Zero(t, c.Stats().Samples)

	// Ten orders taking 100 ms, 200 ms, ..., 1 s; the odd ones fail.
	for i := 1; i <= 10; i++ {
		id := fmt.Sprintf("o-%d", i)
		c.Observe(id, placed, start)
		final := confirmed
		if i%2 == 1 {
			final = failed
		}
		if i == 4 {
			require.Equal(t, CompletionStats{Samples: 3, Median: DefaultCompletionEstimate, P90: DefaultCompletionEstimate}, c.Stats())
		}
		c.Observe(id, final, start.Add(time.Duration(i)*100*time.Millisecond))
		// A redelivered final event measures nothing more.
		c.Observe(id, final, start.Add(time.Hour))
	}
	require.Equal(t, CompletionStats{Samples: 10, Median: 500 * time.Millisecond, P90: 900 * time.Millisecond, Measured: true}, c.Stats())

	clock.t = clock.t.Add(CompletionWindow + time.Second)
	require.Equal(t, CompletionStats{Median: DefaultCompletionEstimate, P90: DefaultCompletionEstimate}, c.Stats(),
		"samples older than the window no longer count")

	var none *CompletionTimes
	require.Equal(t, CompletionStats{Median: DefaultCompletionEstimate, P90: DefaultCompletionEstimate}, none.Stats())
}

// An order is expected by its placement plus the recent 90th percentile;
// one already past that, by now plus the median; a final one, when it
// became final.
func TestEstimateCompletion(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	c := NewCompletionTimes(clock.now)
	for i := 1; i <= 10; i++ {
		id := fmt.Sprintf("o-%d", i)
		c.Observe(id, placed, clock.t)
		c.Observe(id, confirmed, clock.t.Add(time.Duration(i)*100*time.Millisecond))
	}
	estimate := EstimateCompletionHandler{&deps{completions: c}}

	fresh := query.Order{Status: messages.StatusPending, CreatedAt: clock.t}
	require.Equal(t, clock.t.Add(900*time.Millisecond), estimate.Handle(fresh))

	late := query.Order{Status: messages.StatusProcessing, CreatedAt: clock.t.Add(-time.Minute)}
	require.Equal(t, clock.t.Add(500*time.Millisecond), estimate.Handle(late))

	done := query.Order{Status: messages.StatusConfirmed, CreatedAt: clock.t.Add(-time.Minute), UpdatedAt: clock.t.Add(-59 * time.Second)}
	require.Equal(t, done.UpdatedAt, estimate.Handle(done))

	unmeasured := EstimateCompletionHandler{&deps{}}
	o := query.Order{Status: messages.StatusPending, CreatedAt: time.Now()}
	got := unmeasured.Handle(o)
	require.WithinDuration(t, o.CreatedAt.Add(DefaultCompletionEstimate), got, 50*time.Millisecond)
}
