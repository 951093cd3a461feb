package sagas

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/messages"
)

// settlingSaga is a saga of twoLines that reached SETTLING.
func settlingSaga(t *testing.T) *State {
	t.Helper()
	s, _ := start(t, twoLines()...)
	run(t, s, reserved("p1"), reserved("p2"), stepDone(messages.StepInventoryReserved),
		authorized(), stepDone(messages.StepPaymentAuthorized), confirmed())
	require.Equal(t, PhaseSettling, s.Phase)
	return s
}

// An open saga re-sends what its phase waits on, under ids that are
// neither the usual ones (a handler's inbox would swallow those) nor those
// of another resend; a missing command it sends anyway is sent once.
func TestResendOpenSagaSendsOutstandingUnderNewIDs(t *testing.T) {
	t.Parallel()
	s := settlingSaga(t)
	usual := s.outstanding()
	require.Len(t, usual, 2, "the two commits; the capture follows them")

	first, err := s.resendable([]messages.Command{commitCmd("p1")}, "n1")
	require.NoError(t, err)
	require.Equal(t, plain(usual), plain(first), "the phase's commands, the missing commit among them once")
	second, err := s.resendable(nil, "n2")
	require.NoError(t, err)
	require.Equal(t, plain(usual), plain(second))
	for i := range usual {
		require.NotEqual(t, usual[i].ID, first[i].ID)
		require.NotEqual(t, first[i].ID, second[i].ID)
	}

	_, err = s.resendable([]messages.Command{releaseCmd("p1")}, "n3")
	require.ErrorIs(t, err, ErrResendRefused, "a confirmed order's stock is never released")
}

// A finished confirmed saga sends the settlement the reconciler found
// missing, and nothing else.
func TestResendDoneConfirmedSagaSettles(t *testing.T) {
	t.Parallel()
	s := settlingSaga(t)
	run(t, s, committed("p1"), committed("p2"), captured())
	require.Equal(t, PhaseDone, s.Phase)

	cmds, err := s.resendable(nil, "n")
	require.NoError(t, err)
	require.Empty(t, cmds, "a finished saga waits on nothing")

	cmds, err = s.resendable([]messages.Command{commitCmd("p2"), captureCmd()}, "n")
	require.NoError(t, err)
	require.Equal(t, []messages.Command{commitCmd("p2"), captureCmd()}, plain(cmds))

	for _, refused := range []messages.Command{
		releaseCmd("p1"),
		voidCmd(),
		commitCmd("p9"), // not a line of the order
		messages.CapturePayment{CustomerID: "someone-else", OrderID: testOrder},
		messages.CommitStock{ProductID: "p1", OrderID: "another-order"},
		messages.ReserveStock{ProductID: "p1", OrderID: testOrder, Quantity: 1},
	} {
		_, err := s.resendable([]messages.Command{refused}, "n")
		require.ErrorIs(t, err, ErrResendRefused, "%#v", refused)
	}
}

// A saga that gave up sends the compensation the reconciler found missing
// (a reservation or hold that came back, or was never undone), never a
// settlement.
func TestResendCancelledSagaCompensates(t *testing.T) {
	t.Parallel()
	s, _ := start(t, twoLines()...)
	run(t, s, reserved("p1"), reserved("p2"), stepDone(messages.StepInventoryReserved), refused())
	run(t, s, released("p1"), released("p2"), cancelled())
	require.Equal(t, PhaseDone, s.Phase)
	require.Equal(t, OutcomeCancelled, s.Outcome)

	cmds, err := s.resendable([]messages.Command{releaseCmd("p2"), voidCmd()}, "n")
	require.NoError(t, err)
	require.Equal(t, []messages.Command{releaseCmd("p2"), voidCmd()}, plain(cmds))

	for _, refused := range []messages.Command{commitCmd("p1"), captureCmd(), releaseCmd("p9")} {
		_, err := s.resendable([]messages.Command{refused}, "n")
		require.ErrorIs(t, err, ErrResendRefused, "%#v", refused)
	}
}

// A saga still on its way (not confirmed, not given up) has nothing to
// compensate yet: releasing its stock would pull the floor from under it.
func TestResendRefusesCompensationOfAnOrderInFlight(t *testing.T) {
	t.Parallel()
	s, _ := start(t, twoLines()...)
	run(t, s, reserved("p1"), reserved("p2"), stepDone(messages.StepInventoryReserved))
	require.Equal(t, PhaseAuthorizing, s.Phase)

	cmds, err := s.resendable(nil, "n")
	require.NoError(t, err)
	require.Equal(t, []messages.Command{markCmd(messages.StepInventoryReserved), // a no-op on the order, which recorded it
		messages.AuthorizePayment{CustomerID: testCustomer, OrderID: testOrder, Amount: s.Amount}}, plain(cmds))

	_, err = s.resendable([]messages.Command{releaseCmd("p1")}, "n")
	require.ErrorIs(t, err, ErrResendRefused)
}
