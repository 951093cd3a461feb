package sagas

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/command/bus"
	"github.com/orderflow/orderflow/messages"
)

// barrierSender holds every send until want sends have started, which
// only sends made at the same time reach; it fails the commands in fail.
type barrierSender struct {
	want int
	fail map[string]bool

	mu   sync.Mutex
	sent []string
	all  chan struct{}
}

func (s *barrierSender) Send(ctx context.Context, cmd messages.Command, env bus.Envelope) (string, error) {
	s.mu.Lock()
	s.sent = append(s.sent, env.MessageID)
	if len(s.sent) == s.want {
		close(s.all)
	}
	s.mu.Unlock()
	select {
	case <-s.all:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if s.fail[env.MessageID] {
		return "", errors.New("broker unavailable")
	}
	return env.MessageID, nil
}

func decisionOf(ids ...string) Decision {
	var d Decision
	for _, id := range ids {
		d.Commands = append(d.Commands, Command{ID: id, Message: messages.ReleaseStock{ProductID: "p-" + id, OrderID: testOrder}})
	}
	return d
}

// The commands of one decision are sent together, so they share the
// producer's batch instead of waiting out its linger one after another.
func TestDecisionCommandsAreSentTogether(t *testing.T) {
	t.Parallel()
	sender := &barrierSender{want: 3, all: make(chan struct{})}
	p := &Processor{sender: sender}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	require.NoError(t, p.sendAll(ctx, &State{OrderID: testOrder}, decisionOf("a", "b", "c")))
	require.ElementsMatch(t, []string{"a", "b", "c"}, sender.sent)
}

// A command that cannot be sent fails the decision's sending (the deadline
// sends the phase again), the others are still sent.
func TestDecisionSendingFailsWithAnyCommand(t *testing.T) {
	t.Parallel()
	sender := &barrierSender{want: 2, all: make(chan struct{}), fail: map[string]bool{"b": true}}
	p := &Processor{sender: sender}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	err := p.sendAll(ctx, &State{OrderID: testOrder}, decisionOf("a", "b"))
	require.ErrorContains(t, err, "broker unavailable")
	require.ErrorContains(t, err, testOrder)
	require.ElementsMatch(t, []string{"a", "b"}, sender.sent)
}
