package sagas

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/messages"
)

// parkedCompensating is a saga of twoLines (both reserved, the payment
// authorized) whose customer cancelled and whose void never answered: it
// parked, and its order recorded the park's FailOrder. It returns what the
// saga sent before the re-drive.
func parkedCompensating(t *testing.T) (*State, []Command) {
	t.Helper()
	s, sent := driveTo(t, PhaseConfirming, twoLines()...)
	sent = append(sent, run(t, s, cancelRequested())...)
	var d Decision
	for s.Phase == PhaseCompensating {
		d = expire(t, s)
		sent = append(sent, d.Commands...)
	}
	require.Equal(t, PhaseParked, s.Phase)
	require.Equal(t, []messages.Command{failCmd(errcode.CompensationFailed)}, plain(d.Commands))
	require.Empty(t, run(t, s, orderFailed(errcode.CompensationFailed)))
	require.Equal(t, PhaseParked, s.Phase)
	return s, sent
}

func orderFailed(code errcode.Code) messages.Event {
	return messages.OrderFailed{OrderID: testOrder, Code: code, At: t0}
}

// redrive re-drives s at t0 with nonce.
func redrive(t *testing.T, s *State, nonce string) Decision {
	t.Helper()
	d, err := s.Redrive(t0, testPolicy, noJitter, nonce)
	require.NoError(t, err)
	return d
}

func redrivenKey(key, nonce string) string { return redrivenID(id(key), nonce) }

// A saga parked with COMPENSATION_FAILED, re-driven: it compensates again
// where it stood (the void first, under a new id, with its deadline), the
// answers undo the hold and the stock, each compensation is recorded on
// the order once, and it ends DONE with the order's status (FAILED). A
// second re-drive, duplicate answers and deadlines change nothing.
func TestRedriveParkedCompensationFinishesTheOrder(t *testing.T) {
	t.Parallel()
	s, before := parkedCompensating(t)

	d := redrive(t, s, "r1")
	require.Equal(t, []messages.Command{voidCmd()}, plain(d.Commands), "the payment first, as before")
	require.Equal(t, redrivenKey("void:authorized", "r1"), d.Commands[0].ID)
	require.NotContains(t, ids(before), d.Commands[0].ID, "a new message id, the same business key")
	require.False(t, d.Finished)
	require.Equal(t, PhaseCompensating, s.Phase)
	require.Empty(t, s.Outcome)
	require.True(t, s.EndedAt.IsZero())
	require.Zero(t, s.Attempts)
	require.Equal(t, t0.Add(testPolicy.StepTimeout), s.Deadline, "a full set of attempts from now")

	// Its deadline re-sends under the re-drive's id, not the old one.
	resent := expire(t, s)
	require.Equal(t, ids(d.Commands), ids(resent.Commands))

	cmds := run(t, s, voided())
	require.Equal(t, []messages.Command{recordVoided(byCustomer), releaseCmd("p1"), releaseCmd("p2")}, plain(cmds))
	for _, c := range cmds {
		require.NotContains(t, ids(before), c.ID)
	}
	require.Equal(t, redrivenKey("release:p1", "r1"), cmds[1].ID)
	require.Empty(t, run(t, s, released("p1")))
	require.Equal(t, PhaseCompensating, s.Phase)

	last := s.Handle(released("p2"), t0.Add(time.Minute), testPolicy, noJitter)
	require.Equal(t, []messages.Command{recordReleased(byCustomer)}, plain(last.Commands))
	require.True(t, last.Finished)
	require.True(t, last.Counted, "counted once, when it parked")
	require.Equal(t, PhaseDone, s.Phase)
	require.Equal(t, OutcomeFailed, s.Outcome, "its order failed (COMPENSATION_FAILED) when it parked")
	require.Equal(t, t0.Add(time.Minute), s.EndedAt)
	require.True(t, s.Deadline.IsZero())
	require.Equal(t, PartUndone, s.Payment)
	for _, l := range s.Lines {
		require.Equal(t, PartUndone, l.State)
	}
	require.Equal(t, []string{"PAYMENT_AUTHORIZED:VoidPayment", "INVENTORY_RESERVED:ReleaseInventory"}, s.Compensations)

	done := clone(s)
	require.Empty(t, run(t, s, voided(), released("p1"), released("p2"), orderFailed(errcode.CompensationFailed)), "duplicate answers")
	require.Empty(t, s.OnDeadline(t0.Add(time.Hour), testPolicy, noJitter))
	_, err := s.Redrive(t0, testPolicy, noJitter, "r2")
	require.ErrorIs(t, err, ErrNothingToRedrive)
	require.Equal(t, done, clone(s))
}

// Re-driven twice before any answer (the operator pressed twice, or the
// first re-drive's commands were lost): the second sends the same commands
// under other ids; the answers finish the saga once.
func TestRedriveTwiceSendsAgainUnderNewIDs(t *testing.T) {
	t.Parallel()
	s, _ := parkedCompensating(t)
	first := redrive(t, s, "r1")
	second := redrive(t, s, "r2")
	require.Equal(t, plain(first.Commands), plain(second.Commands))
	require.NotEqual(t, ids(first.Commands), ids(second.Commands))
	require.Equal(t, []string{"r1", "r2"}, s.Redrives)

	var sent []Command
	sent = append(sent, run(t, s, voided(), voided())...)
	sent = append(sent, run(t, s, released("p2"), released("p1"), released("p1"))...)
	require.Equal(t, PhaseDone, s.Phase)
	require.Equal(t, OutcomeFailed, s.Outcome)
	require.Len(t, ofType[messages.RecordOrderCompensation](sent), 2, "each compensation recorded once")
	require.Len(t, ofType[messages.ReleaseStock](sent), 2)
}

// The answers a parked saga gave up on may still come (a dead-lettered
// release the operator replays, a release the reconciler re-sent): the
// parked saga takes them in and, once nothing is left to undo, finishes by
// itself. It sends no new stage on its own.
func TestParkedCompensationFinishesOnLateAnswers(t *testing.T) {
	t.Parallel()
	s, _ := driveTo(t, PhaseConfirming, twoLines()...)
	run(t, s, cancelRequested())
	require.Equal(t, []messages.Command{recordVoided(byCustomer), releaseCmd("p1"), releaseCmd("p2")}, plain(run(t, s, voided())))
	for s.Phase == PhaseCompensating {
		expire(t, s)
	}
	require.Equal(t, PhaseParked, s.Phase)
	run(t, s, orderFailed(errcode.CompensationFailed))

	require.Empty(t, run(t, s, released("p1")))
	require.Equal(t, PhaseParked, s.Phase, "p2 is still reserved")
	d := s.Handle(released("p2"), t0, testPolicy, noJitter)
	require.Equal(t, []messages.Command{recordReleased(byCustomer)}, plain(d.Commands))
	require.True(t, d.Finished)
	require.True(t, d.Counted)
	require.Equal(t, PhaseDone, s.Phase)
	require.Equal(t, OutcomeFailed, s.Outcome)

	// Parked while waiting for the void: the void lands late; the releases
	// are the operator's re-drive, not the parked saga's own decision.
	s, _ = parkedCompensating(t)
	require.Equal(t, []messages.Command{recordVoided(byCustomer)}, plain(run(t, s, voided())))
	require.Equal(t, PhaseParked, s.Phase)
	d = redrive(t, s, "r1")
	require.Equal(t, []messages.Command{releaseCmd("p1"), releaseCmd("p2")}, plain(d.Commands))
	run(t, s, released("p1"), released("p2"))
	require.Equal(t, PhaseDone, s.Phase)
}

// A crash in the middle: the re-drive's state committed but its commands
// were never sent. The state survives persistence (its re-drive nonce
// with it), and the deadline sends the re-drive's commands under the
// re-drive's ids; a crash before the commit left the parked state, which
// a new re-drive takes up as the first would have.
func TestRedriveSurvivesACrash(t *testing.T) {
	t.Parallel()
	s, _ := parkedCompensating(t)
	persisted := clone(s)

	d := redrive(t, s, "r1")
	raw, err := json.Marshal(s)
	require.NoError(t, err)
	var loaded State
	require.NoError(t, json.Unmarshal(raw, &loaded))
	require.Equal(t, []string{"r1"}, loaded.Redrives)
	require.Equal(t, messages.StatusFailed, loaded.OrderEnded)
	resent := loaded.OnDeadline(loaded.Deadline, testPolicy, noJitter)
	require.Equal(t, ids(d.Commands), ids(resent.Commands))
	run(t, &loaded, voided(), released("p1"), released("p2"))
	require.Equal(t, PhaseDone, loaded.Phase)

	again := redrive(t, &persisted, "r2")
	require.Equal(t, plain(d.Commands), plain(again.Commands))
	run(t, &persisted, voided(), released("p1"), released("p2"))
	require.Equal(t, PhaseDone, persisted.Phase)
	require.Equal(t, OutcomeFailed, persisted.Outcome)
}

// A re-driven saga whose commands go unanswered again parks again after
// its attempts, and fails the order again under a new id (the order, FAILED
// already, records nothing more).
func TestRedrivenSagaParksAgain(t *testing.T) {
	t.Parallel()
	s, before := parkedCompensating(t)
	redrive(t, s, "r1")
	var d Decision
	for s.Phase == PhaseCompensating {
		d = expire(t, s)
	}
	require.Equal(t, PhaseParked, s.Phase)
	require.True(t, d.Finished)
	require.True(t, d.Counted, "its end was counted when it first parked")
	require.Equal(t, []messages.Command{failCmd(errcode.CompensationFailed)}, plain(d.Commands))
	require.NotContains(t, ids(before), d.Commands[0].ID)
}

// A saga parked after everything was undone, when only the order's end
// was missing: the re-drive finishes it at once, with the order's status.
// A saga parked before OrderEnded was kept (a state saved by an earlier
// version) is taken to have failed its order, as every park did.
func TestRedriveParkedWithNothingLeftFinishesAtOnce(t *testing.T) {
	t.Parallel()
	for _, known := range []bool{true, false} {
		s, _ := start(t, twoLines()...)
		run(t, s, outOfStock("p1"))
		require.Equal(t, PhaseEnding, s.Phase)
		for s.Phase == PhaseEnding {
			expire(t, s)
		}
		require.Equal(t, PhaseParked, s.Phase)
		if known {
			s.OrderEnded = messages.StatusCancelled // the order's own cancellation came first
		}
		d := redrive(t, s, "r1")
		require.True(t, d.Finished)
		require.True(t, d.Counted)
		require.Empty(t, d.Commands)
		require.Equal(t, PhaseDone, s.Phase)
		want := OutcomeFailed
		if known {
			want = OutcomeCancelled
		}
		require.Equal(t, want, s.Outcome)
	}
}

// A saga parked while settling a confirmed order: the re-drive commits
// what is not yet, then captures, under new ids, and never undoes the sale.
func TestRedriveParkedSettlementConfirms(t *testing.T) {
	t.Parallel()
	s, settle := driveTo(t, PhaseSettling, twoLines()...)
	for s.Phase == PhaseSettling {
		expire(t, s)
	}
	run(t, s, committed("p1"))
	require.Equal(t, PhaseParked, s.Phase)

	d := redrive(t, s, "r1")
	require.Equal(t, []messages.Command{commitCmd("p2")}, plain(d.Commands))
	require.Equal(t, PhaseSettling, s.Phase)
	sent := run(t, s, committed("p2"))
	require.Equal(t, []messages.Command{captureCmd()}, plain(sent))
	for _, c := range append(d.Commands, sent...) {
		require.NotContains(t, ids(settle), c.ID)
	}
	last := s.Handle(captured(), t0, testPolicy, noJitter)
	require.True(t, last.Finished)
	require.True(t, last.Counted)
	require.Equal(t, PhaseDone, s.Phase)
	require.Equal(t, OutcomeConfirmed, s.Outcome)
	require.Empty(t, ofType[messages.ReleaseStock](sent))
	require.Empty(t, ofType[messages.VoidPayment](sent))
}

// A stuck open saga (its reservation was lost, say): the re-drive sends
// what its phase waits on under a new id with the same business key, its
// attempts start again, and the saga goes on from there under the
// re-drive's ids to the end.
func TestRedriveStuckSagaResendsItsPendingStep(t *testing.T) {
	t.Parallel()
	s, first := start(t, twoLines()...)
	run(t, s, reserved("p1"))
	expire(t, s)
	expire(t, s)
	require.Equal(t, 2, s.Attempts)

	d := redrive(t, s, "r1")
	require.Equal(t, []messages.Command{reserveCmd("p2", 2)}, plain(d.Commands), "only the line still pending")
	require.Equal(t, redrivenKey("reserve:p2", "r1"), d.Commands[0].ID)
	require.NotContains(t, ids(first), d.Commands[0].ID)
	require.Equal(t, PhaseReserving, s.Phase)
	require.Zero(t, s.Attempts)
	require.Equal(t, t0.Add(testPolicy.StepTimeout), s.Deadline)

	cmds := run(t, s, reserved("p2"))
	require.Equal(t, []messages.Command{markCmd(messages.StepInventoryReserved), authorizeCmd(750)}, plain(cmds))
	require.Equal(t, redrivenKey("step:"+string(messages.StepInventoryReserved), "r1"), cmds[0].ID)
	require.Equal(t, redrivenKey("authorize", "r1"), cmds[1].ID)
	run(t, s, stepDone(messages.StepInventoryReserved), authorized(), stepDone(messages.StepPaymentAuthorized), confirmed())
	run(t, s, committed("p1"), committed("p2"), captured())
	require.Equal(t, PhaseDone, s.Phase)
	require.Equal(t, OutcomeConfirmed, s.Outcome)
}

// CommandIDs, which the order timeline uses to find what each inbox
// recorded, knows the ids of every re-drive too.
func TestCommandIDsIncludeRedrives(t *testing.T) {
	t.Parallel()
	s, _ := parkedCompensating(t)
	d := redrive(t, s, "r1")
	all := CommandIDs(testOrder, *s)
	for _, c := range d.Commands {
		require.True(t, slices.Contains(all, c.ID), c.Message.CommandName())
	}
}

// A saga parked in CONFIRMING (it asked the order to cancel after its
// confirmation timed out, and the order answered neither): its order is
// not final. The re-drive asks the order to cancel again, under a new id;
// the order's answer decides: a recorded cancellation request is
// compensated and ends the order FAILED (SAGA_TIMEOUT), a confirmation
// settles the sale.
func TestRedriveParkedWhileConfirmingEndsTheOrder(t *testing.T) {
	t.Parallel()
	parked := func(t *testing.T) *State {
		s, _ := driveTo(t, PhaseConfirming, twoLines()...)
		for s.Phase == PhaseConfirming {
			expire(t, s)
		}
		require.Equal(t, PhaseParked, s.Phase)
		require.NotNil(t, s.TimedOut)
		require.Nil(t, s.Failure)
		return s
	}
	cancelTimeout := messages.CancelOrder{OrderID: testOrder, Reason: string(errcode.SagaTimeout), RequestedBy: "saga"}

	s := parked(t)
	d := redrive(t, s, "r1")
	require.Equal(t, []messages.Command{cancelTimeout}, plain(d.Commands))
	require.Equal(t, redrivenKey("cancel:timeout", "r1"), d.Commands[0].ID)
	require.Equal(t, PhaseConfirming, s.Phase)
	cmds := run(t, s, messages.OrderCancellationRequested{OrderID: testOrder, Reason: string(errcode.SagaTimeout), By: "saga", At: t0})
	require.Equal(t, []messages.Command{voidCmd()}, plain(cmds))
	cmds = run(t, s, voided(), released("p1"), released("p2"))
	require.Equal(t, []messages.Command{failCmd(errcode.SagaTimeout)}, plain(ofType[messages.FailOrder](cmds)))
	require.Equal(t, PhaseEnding, s.Phase)
	d = s.Handle(orderFailed(errcode.SagaTimeout), t0, testPolicy, noJitter)
	require.True(t, d.Finished)
	require.True(t, d.Counted)
	require.Equal(t, PhaseDone, s.Phase)
	require.Equal(t, OutcomeFailed, s.Outcome)

	s = parked(t)
	redrive(t, s, "r1")
	cmds = run(t, s, confirmed())
	require.Equal(t, []messages.Command{commitCmd("p1"), commitCmd("p2")}, plain(cmds))
	require.Equal(t, []messages.Command{captureCmd()}, plain(run(t, s, committed("p1"), committed("p2"))))
	run(t, s, captured())
	require.Equal(t, PhaseDone, s.Phase)
	require.Equal(t, OutcomeConfirmed, s.Outcome)
}
