package breaker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/breaker"
	"github.com/orderflow/orderflow/internal/deadletter"
)

func TestBreakerOpensPausesAndProbes(t *testing.T) {
	t.Parallel()
	m := breaker.NewMetrics(prometheus.NewRegistry())
	b := breaker.New(breaker.Config{Name: "dep", Failures: 3, Timeout: 100 * time.Millisecond, Fails: breaker.NotCancelled}, m)
	state := func() float64 {
		var d dto.Metric
		require.NoError(t, m.Gauge("dep").Write(&d))
		return d.GetGauge().GetValue()
	}
	down := errors.New("connection refused")
	calls := 0
	failing := func() error { calls++; return down }

	start := time.Now()
	for range 3 {
		err := b.Do(failing)
		require.ErrorIs(t, err, down)
		require.Equal(t, deadletter.Unavailable, deadletter.ClassOf(err), "the dependency's failure, not the message's")
	}
	require.True(t, b.Open())
	require.True(t, b.FailedSince(start))
	require.Equal(t, 2.0, state())

	err := b.Do(failing)
	require.ErrorIs(t, err, breaker.ErrOpen)
	require.Equal(t, deadletter.Unavailable, deadletter.ClassOf(err))
	require.Equal(t, 3, calls, "an open breaker does not call")

	// A cancelled caller says nothing about the dependency.
	require.Eventually(t, func() bool { return !b.Open() }, time.Second, 10*time.Millisecond)
	require.Equal(t, 1.0, state(), "half-open after the timeout")
	require.NoError(t, b.Do(func() error { return nil }), "the probe passes")
	require.Equal(t, 0.0, state(), "closed")
	err = b.Do(func() error { return context.Canceled })
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, deadletter.Transient, deadletter.ClassOf(err))
	require.False(t, b.FailedSince(time.Now().Add(time.Second)))
}

// Status tells an operator where a breaker stands: closed with no failure
// at first, open since the failure that tripped it, half-open after the
// timeout, closed again after a probe.
func TestBreakerStatus(t *testing.T) {
	t.Parallel()
	b := breaker.New(breaker.Config{Name: "dep", Failures: 2, Timeout: 100 * time.Millisecond}, nil)
	st := b.Status()
	require.Equal(t, breaker.Status{Name: "dep", State: breaker.Closed, Since: st.Since}, st)
	require.False(t, st.Since.IsZero())

	down := errors.New("connection refused")
	before := time.Now()
	require.Error(t, b.Do(func() error { return down }))
	st = b.Status()
	require.Equal(t, breaker.Closed, st.State)
	require.Equal(t, 1, st.ConsecutiveFailures)
	require.False(t, st.LastFailure.Before(before.Truncate(time.Microsecond)))

	require.Error(t, b.Do(func() error { return down }))
	st = b.Status()
	require.Equal(t, breaker.Open, st.State)
	require.False(t, st.Since.Before(before.Truncate(time.Microsecond)), "open since it tripped")

	require.Eventually(t, func() bool { return b.Status().State == breaker.HalfOpen }, time.Second, 10*time.Millisecond)
	require.NoError(t, b.Do(func() error { return nil }))
	st = b.Status()
	require.Equal(t, breaker.Closed, st.State)
	require.Zero(t, st.ConsecutiveFailures)

	require.Equal(t, []breaker.Status{st}, breaker.Set{b, nil}.Statuses())
}
