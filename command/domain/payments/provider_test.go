package payments_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/command/domain/payments"
)

func authorization(key string) payments.Authorization {
	return payments.Authorization{Key: key, CustomerID: "c-1", Amount: 100}
}

func TestBalanceProviderApprovesAndLeavesTheBalanceToTheAccount(t *testing.T) {
	t.Parallel()

	answer, err := payments.BalanceProvider{}.Authorize(context.Background(), authorization("o-1"))
	require.NoError(t, err)
	require.Empty(t, answer.Declined)
}

// Injected refusals are drawn per key: asking again with the same key
// gets the first answer, and over many keys the share is the configured
// rate.
func TestFaultyProviderAnswersAKeyOnce(t *testing.T) {
	t.Parallel()

	f := &payments.FaultyProvider{Next: payments.BalanceProvider{}, RefusalRate: 0.3}
	const keys = 5000
	declined := 0
	for i := range keys {
		key := fmt.Sprintf("order-%d", i)
		first, err := f.Authorize(context.Background(), authorization(key))
		require.NoError(t, err)
		for range 3 {
			again, err := f.Authorize(context.Background(), authorization(key))
			require.NoError(t, err)
			require.Equal(t, first, again, key)
		}
		if first.Declined != "" {
			require.Equal(t, payments.ReasonDeclinedByProvider, first.Declined)
			declined++
		}
	}
	require.InDelta(t, 0.3, float64(declined)/keys, 0.03)
}

func TestFaultyProviderFailsFirstCallsPerKey(t *testing.T) {
	t.Parallel()

	f := &payments.FaultyProvider{Next: payments.BalanceProvider{}, FailFirst: 2}
	ctx := context.Background()
	for _, key := range []string{"o-1", "o-2"} {
		for range 2 {
			_, err := f.Authorize(ctx, authorization(key))
			require.ErrorIs(t, err, payments.ErrProviderUnavailable, key)
		}
		answer, err := f.Authorize(ctx, authorization(key))
		require.NoError(t, err, key)
		require.Empty(t, answer.Declined)
	}
}

func TestFaultyProviderThatHangsEndsWithItsContext(t *testing.T) {
	t.Parallel()

	f := &payments.FaultyProvider{Next: payments.BalanceProvider{}, Hang: true}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := f.Authorize(ctx, authorization("o-1"))
	require.ErrorIs(t, err, context.DeadlineExceeded)
}
