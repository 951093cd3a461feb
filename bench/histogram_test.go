package bench

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHistogramBucketsCoverEveryValueWithinPrecision(t *testing.T) {
	t.Parallel()
	values := []int64{0, 1, 255, 256, 257, 511, 512, 1000, 4095, 65_537, 1_000_000, 3_600_000_000}
	for v := int64(1); v < 1<<40; v = v*3 + 1 {
		values = append(values, v)
	}
	for _, v := range values {
		i := bucketOf(v)
		high := bucketHigh(i)
		require.GreaterOrEqual(t, high, v, "bucket %d of %d", i, v)
		require.LessOrEqual(t, float64(high-v), float64(v)/128+1, "bucket %d of %d is too wide", i, v)
		require.Equal(t, i, bucketOf(high), "the highest value of bucket %d falls into it", i)
		if i > 0 {
			require.Less(t, bucketHigh(i-1), v, "value %d belongs to no earlier bucket", v)
		}
	}
}

func TestHistogramPercentiles(t *testing.T) {
	t.Parallel()
	h := NewHistogram()
	// 1..100000 µs, shuffled order does not matter.
	for v := 100_000; v >= 1; v-- {
		h.Record(time.Duration(v) * time.Microsecond)
	}
	within := func(want time.Duration, got time.Duration) {
		t.Helper()
		require.InEpsilon(t, float64(want), float64(got), 0.01, "want about %s, got %s", want, got)
		require.GreaterOrEqual(t, got, want, "percentiles round up, never down")
	}
	within(50*time.Millisecond, h.Percentile(0.50))
	within(90*time.Millisecond, h.Percentile(0.90))
	within(99*time.Millisecond, h.Percentile(0.99))
	within(99900*time.Microsecond, h.Percentile(0.999))
	require.Equal(t, 100*time.Millisecond, h.Percentile(1))
	require.Equal(t, time.Microsecond, h.Percentile(0))

	s := h.Summary()
	require.Equal(t, int64(100_000), s.Count)
	require.Equal(t, 0.001, s.Min)
	require.Equal(t, 100.0, s.Max)
	require.InDelta(t, 50.0005, s.Mean, 1e-9)
	require.InEpsilon(t, 99.0, s.P99, 0.01)
	require.InEpsilon(t, 99.9, s.P999, 0.01)
}

func TestHistogramSmallAndEmpty(t *testing.T) {
	t.Parallel()
	h := NewHistogram()
	require.Equal(t, Summary{}, h.Summary())
	require.Zero(t, h.Percentile(0.99))

	h.Record(-time.Second) // clock went backwards: counts as zero
	h.Record(1234567 * time.Microsecond)
	require.Equal(t, time.Duration(0), h.Percentile(0.5))
	require.Equal(t, 1234567*time.Microsecond, h.Percentile(0.99), "clipped to the exact maximum")
	require.Equal(t, int64(2), h.Count())
}

func TestHistogramIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	h := NewHistogram()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				h.Record(time.Duration(w*1000+i) * time.Millisecond)
				_ = h.Percentile(0.99)
			}
		}()
	}
	wg.Wait()
	require.Equal(t, int64(8000), h.Count())
	require.Equal(t, 7999.0, h.Summary().Max)
}
