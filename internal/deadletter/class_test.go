package deadletter_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/deadletter"
)

func TestClassOf(t *testing.T) {
	t.Parallel()
	base := errors.New("boom")
	for _, c := range []struct {
		err  error
		want deadletter.Class
	}{
		{base, deadletter.Transient},
		{context.DeadlineExceeded, deadletter.Transient},
		{deadletter.PermanentError(base), deadletter.Permanent},
		{deadletter.Permanentf("bad %d", 1), deadletter.Permanent},
		{fmt.Errorf("handle: %w", deadletter.PermanentError(base)), deadletter.Permanent},
		{deadletter.UnavailableError(base), deadletter.Unavailable},
		{fmt.Errorf("authorize: %w", deadletter.UnavailableError(base)), deadletter.Unavailable},
		{deadletter.UnavailableError(deadletter.PermanentError(base)), deadletter.Unavailable}, // the outermost mark wins
	} {
		require.Equal(t, c.want, deadletter.ClassOf(c.err), "%v", c.err)
	}
	require.ErrorIs(t, deadletter.PermanentError(base), base, "the cause stays reachable")
	require.Nil(t, deadletter.PermanentError(nil))
	require.Nil(t, deadletter.UnavailableError(nil))
	require.True(t, deadletter.StatusDead.Open())
	require.False(t, deadletter.StatusReplayed.Open())
}
