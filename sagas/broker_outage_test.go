package sagas_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/command/bus"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/sagas"
)

// brokerOutage stands between the saga and the real command bus: while
// down, every send fails as the producer fails when no broker answers,
// and nothing reaches Kafka.
type brokerOutage struct {
	next sagas.CommandSender
	down atomic.Bool
	// refused counts the sends that failed during the outage.
	refused atomic.Int64
}

func (b *brokerOutage) Send(ctx context.Context, cmd messages.Command, env bus.Envelope) (string, error) {
	if b.down.Load() {
		b.refused.Add(1)
		return "", fmt.Errorf("send %s for %s: %w", cmd.CommandName(), cmd.AggregateID(), sarama.ErrOutOfBrokers)
	}
	return b.next.Send(ctx, cmd, env)
}

// A broker outage far longer than the saga's attempts budget is waited
// out: sends that never reached Kafka do not count as attempts, and the
// order is confirmed once the broker is back (before, the saga gave up
// with SAGA_TIMEOUT on an order nobody had refused).
func TestBrokerOutageIsWaitedOut(t *testing.T) {
	t.Parallel()
	outage := &brokerOutage{}
	w := setup(t,
		withPolicy(fastPolicy), // gives up after about 2.2 s of silence
		service.WithSagaSender(func(next sagas.CommandSender) sagas.CommandSender {
			outage.next = next
			return outage
		}))
	mug := w.product(10, 1250)
	c := w.customer(10000)

	outage.down.Store(true)
	o := w.place(c.ID, item(mug, 2))
	// Three budgets' worth of deadlines pass while nothing can be sent.
	require.Eventually(t, func() bool { return outage.refused.Load() >= 6 }, 30*time.Second, 50*time.Millisecond)
	st, err := w.sagaState(o.ID)
	require.NoError(t, err)
	require.Equal(t, sagas.PhaseReserving, st.Phase, w.diagnose(o.ID))
	require.Zero(t, st.Attempts, "unsent attempts are not counted")
	outage.down.Store(false)

	final := w.settled(o.ID)
	require.Equal(t, messages.StatusConfirmed, final.Status, w.diagnose(o.ID))
	require.Nil(t, final.Failure)
	require.Equal(t, 8, w.stock(mug.ID).Available)
	require.Zero(t, w.stock(mug.ID).Reserved)
	require.Zero(t, w.account(c.ID).Held)
}
