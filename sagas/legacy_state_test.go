package sagas_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/command/domain/payments"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/sagas"
)

// An upgrade in the middle of a saga: the row was saved by the earlier
// version, which kept a copy of the order's steps ("completed") and waited
// in MARKING_RESERVED for the order to record INVENTORY_RESERVED. This
// version loads it as AUTHORIZING; its deadline records the step (once)
// and asks for the payment again (once charged), and the answer carries
// the saga to the end, the order's steps and the saga's alike.
func TestSagaSavedByTheEarlierVersionFinishes(t *testing.T) {
	t.Parallel()
	// A slow provider holds the saga in AUTHORIZING while the test turns
	// its row into the earlier version's.
	w := setup(t,
		service.WithPaymentProvider(&payments.FaultyProvider{Next: payments.BalanceProvider{}, Latency: 4 * time.Second}),
		service.WithPaymentTimeout(10*time.Second))
	p := w.product(5, 300)
	c := w.customer(1000)
	ctx := context.Background()

	o := w.place(c.ID, item(p, 2))
	require.Eventually(t, func() bool {
		st, err := w.sagaState(o.ID)
		require.NoError(t, err)
		return st != nil && st.Phase == sagas.PhaseAuthorizing
	}, 30*time.Second, 10*time.Millisecond)

	// Under the saga's lock (sagaLockClass), as the earlier version left
	// it: no payment asked yet, the step awaited, two attempts used, the
	// deadline due.
	tx, err := w.Env.Pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, 0x5a6a, o.ID)
	require.NoError(t, err)
	tag, err := tx.Exec(ctx, `UPDATE sagas.order_sagas SET phase = 'MARKING_RESERVED', deadline = now(),
		state = (state - 'payment') || jsonb_build_object('phase', 'MARKING_RESERVED', 'completed', jsonb_build_array('ORDER_CREATED'),
			'attempts', 2, 'deadline', to_jsonb(now()))
		WHERE order_id = $1 AND phase = 'AUTHORIZING'`, o.ID)
	require.NoError(t, err)
	require.EqualValues(t, 1, tag.RowsAffected(), "the authorization answered before the row was rewritten")
	require.NoError(t, tx.Commit(ctx))

	done := w.settled(o.ID)
	require.Equal(t, messages.StatusConfirmed, done.Status, w.diagnose(o.ID))
	require.Equal(t, messages.AllSagaSteps(), done.CompletedSteps)
	st, err := w.sagaState(o.ID)
	require.NoError(t, err)
	require.Equal(t, sagas.OutcomeConfirmed, st.Outcome)
	require.Equal(t, done.CompletedSteps, st.CompletedSteps())
	require.Positive(t, w.deadlinesPassed(sagas.PhaseAuthorizing), "the loaded saga's deadline fired in AUTHORIZING")

	require.Equal(t, 3, w.stock(p.ID).Available)
	require.Zero(t, w.stock(p.ID).Reserved)
	acct := w.account(c.ID)
	require.Equal(t, money.Amount(1000-600), acct.Balance, "charged once")
	require.Zero(t, acct.Held)
	w.skippedAsApplied(o.ID)
}
