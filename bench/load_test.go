package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestArrivalScheduleIsEvenAndDoesNotDrift(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	require.Equal(t, start, arrival(start, 50, 0))
	require.Equal(t, start.Add(20*time.Millisecond), arrival(start, 50, 1))
	require.Equal(t, start.Add(time.Hour), arrival(start, 3, 3*3600), "computed from the start, not accumulated")
	require.Equal(t, start.Add(2*time.Second), arrival(start, 0.5, 1))

	require.Equal(t, int64(100), arrivals(50, 2*time.Second))
	require.Equal(t, int64(3), arrivals(3, time.Second))
	require.Equal(t, int64(2), arrivals(0.5, 3*time.Second), "at 0s and 2s; 4s is past the end")
	require.Equal(t, int64(1), arrivals(0.5, time.Nanosecond))
	require.Equal(t, int64(334), arrivals(333.3, time.Second+time.Millisecond))
	require.Zero(t, arrivals(0, time.Second))
}

func TestOpenModelNeverWaitsForAnswers(t *testing.T) {
	t.Parallel()
	const rate = 200.0
	total := 250 * time.Millisecond
	start := time.Now().Add(10 * time.Millisecond)

	var mu sync.Mutex
	scheduled := map[int64]time.Time{}
	var maxLag atomic.Int64
	began := time.Now()
	runOpen(context.Background(), start, rate, total, 1000, func(seq int64, at time.Time) {
		maxLag.Store(max(maxLag.Load(), int64(time.Since(at))))
		mu.Lock()
		scheduled[seq] = at
		mu.Unlock()
		time.Sleep(100 * time.Millisecond) // a slow server
	}, func(int64, time.Time) { t.Error("nothing may be dropped") })
	took := time.Since(began)

	require.Len(t, scheduled, 50)
	for seq, at := range scheduled {
		require.Equal(t, arrival(start, rate, seq), at, "order %d carries its scheduled time", seq)
	}
	// Sequential sending would take 50 x 100ms; the open model takes the
	// schedule plus one answer.
	require.Less(t, took, total+100*time.Millisecond+500*time.Millisecond)
	require.Less(t, time.Duration(maxLag.Load()), 200*time.Millisecond, "arrivals leave on time")
}

func TestOpenModelDropsBeyondMaxInFlight(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var fired, dropped atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		runOpen(context.Background(), time.Now(), 1000, 50*time.Millisecond, 5,
			func(int64, time.Time) { fired.Add(1); <-release },
			func(int64, time.Time) { dropped.Add(1) })
	}()
	require.Eventually(t, func() bool { return fired.Load()+dropped.Load() == 50 }, 5*time.Second, time.Millisecond)
	close(release)
	<-done
	require.Equal(t, int64(5), fired.Load())
	require.Equal(t, int64(45), dropped.Load())
}

func TestOpenModelStopsWithContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var fired atomic.Int64
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	runOpen(ctx, time.Now(), 100, time.Hour, 10, func(int64, time.Time) { fired.Add(1) }, func(int64, time.Time) {})
	require.Less(t, fired.Load(), int64(20))
}

func TestClosedModelKeepsConcurrencyFixed(t *testing.T) {
	t.Parallel()
	var inFlight, peak, fired atomic.Int64
	seqs := sync.Map{}
	runClosed(context.Background(), time.Now(), 3, 200*time.Millisecond, func(seq int64, at time.Time) {
		_, dup := seqs.LoadOrStore(seq, true)
		require.False(t, dup, "sequence numbers are unique")
		n := inFlight.Add(1)
		peak.Store(max(peak.Load(), n))
		fired.Add(1)
		time.Sleep(10 * time.Millisecond)
		inFlight.Add(-1)
	})
	require.Equal(t, int64(3), peak.Load())
	require.InDelta(t, 60, fired.Load(), 30)
}

func TestPollDelayGrowsWithAge(t *testing.T) {
	t.Parallel()
	require.Equal(t, 10*time.Millisecond, pollDelay(0, 10*time.Millisecond))
	require.Equal(t, 10*time.Millisecond, pollDelay(50*time.Millisecond, 10*time.Millisecond))
	require.Equal(t, 50*time.Millisecond, pollDelay(500*time.Millisecond, 10*time.Millisecond))
	require.Equal(t, maxPollDelay, pollDelay(time.Minute, 10*time.Millisecond))
	require.Equal(t, time.Second, pollDelay(time.Minute, time.Second), "a minimum above the cap wins")
}
