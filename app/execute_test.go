package app

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/messages"
)

// At capacity a command is refused before it runs, with a retryable error:
// an error then always means nothing was recorded.
func TestCommandsBeyondCapacityAreRefusedUnrun(t *testing.T) {
	t.Parallel()
	d := &deps{cfg: Config{MaxPendingCommands: 2}, pending: make(chan struct{}, 2)}
	d.pending <- struct{}{}
	d.pending <- struct{}{}
	ran := 0

	err := d.execute(messages.CancelOrder{OrderID: "o-1", Reason: "r", RequestedBy: "c"}, func() error { ran++; return nil })

	require.True(t, errcode.Is(err, errcode.Internal), "got %v", err)
	require.True(t, errcode.IsRetryable(err), "got %v", err)
	require.Contains(t, err.Error(), "nothing was recorded")
	require.Zero(t, ran, "nothing ran")
	require.Len(t, d.pending, 2, "the held tokens are untouched")

	<-d.pending
	require.NoError(t, d.execute(messages.CancelOrder{OrderID: "o-1"}, func() error { ran++; return nil }))
	require.Equal(t, 1, ran, "a free slot runs the command")
	require.Len(t, d.pending, 1, "and gives the slot back")
}
