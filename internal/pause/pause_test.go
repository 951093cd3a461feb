package pause_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/pause"
)

func TestForWaitsOrStopsWithItsContext(t *testing.T) {
	t.Parallel()
	began := time.Now()
	require.True(t, pause.For(context.Background(), 20*time.Millisecond))
	require.GreaterOrEqual(t, time.Since(began), 20*time.Millisecond)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	began = time.Now()
	require.False(t, pause.For(ctx, time.Hour), "called off")
	require.Less(t, time.Since(began), time.Minute)
}
