package app

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/command/bus"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/messages"
)

type countingSender struct{ sent int }

func (s *countingSender) Send(context.Context, messages.Command, bus.Envelope) (string, error) {
	s.sent++
	return "", nil
}

// At capacity a synchronous command is refused before it is sent, with a
// retryable error: an error then always means nothing was recorded.
func TestCommandsBeyondCapacityAreRefusedUnsent(t *testing.T) {
	t.Parallel()
	sender := &countingSender{}
	d := &deps{cfg: Config{MaxPendingCommands: 2}, sender: sender, pending: make(chan struct{}, 2)}
	d.pending <- struct{}{}
	d.pending <- struct{}{}

	err := d.sendAndWait(context.Background(), nil, messages.CancelOrder{OrderID: "o-1", Reason: "r", RequestedBy: "c"}, bus.Envelope{})

	require.True(t, errcode.Is(err, errcode.Internal), "got %v", err)
	var coded *errcode.Error
	require.ErrorAs(t, err, &coded)
	require.Equal(t, true, coded.Details["retryable"])
	require.Contains(t, coded.Message, "nothing was recorded")
	require.Zero(t, sender.sent, "nothing sent")
	require.Len(t, d.pending, 2, "the held tokens are untouched")
}
