package consumer

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFetchWaitAsksTheBrokerToHoldFetches(t *testing.T) {
	cfg := Config{Name: "h", Group: "g", Topics: []string{"t"}, Brokers: []string{"b:9092"}, Logger: slog.New(slog.DiscardHandler)}
	require.NoError(t, cfg.validate())
	plain := cfg.sarama()
	require.Equal(t, int32(1), plain.Consumer.Fetch.Min, "without FetchWait a fetch is answered with the first record")

	cfg.FetchWait = 100 * time.Millisecond
	held := cfg.sarama()
	require.Equal(t, 100*time.Millisecond, held.Consumer.MaxWaitTime)
	require.Greater(t, held.Consumer.Fetch.Min, int32(64<<10), "the wait, not a few records, ends a held fetch")
	require.NoError(t, held.Validate())
}
