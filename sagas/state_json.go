package sagas

import (
	"encoding/json"
	"slices"

	"github.com/orderflow/orderflow/messages"
)

// Phases that states saved by earlier versions may be in: the saga waited
// in them for the order to record a step it had asked for. Loading such a
// state moves it on (see upgrade).
const (
	legacyMarkingReserved   Phase = "MARKING_RESERVED"
	legacyMarkingAuthorized Phase = "MARKING_AUTHORIZED"
)

// UnmarshalJSON loads a saga saved by this or an earlier version. Earlier
// versions kept a copy of the order's completed steps ("completed") and
// waited in phases of their own for the order to record a step; such a
// state is upgraded as it loads (see upgrade), so the decisions only ever
// see the current shape.
func (s *State) UnmarshalJSON(b []byte) error {
	type current State // without the methods, so without this one
	var v struct {
		current
		Completed []messages.SagaStep `json:"completed"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = State(v.current)
	s.upgrade(v.Completed)
	return nil
}

// upgrade brings a state saved by an earlier version to the current shape,
// given the steps it recorded as completed (nil for a current state).
//
//   - MARKING_RESERVED becomes AUTHORIZING and MARKING_AUTHORIZED becomes
//     CONFIRMING, with fresh attempts: those phases begin by recording the
//     step the old one waited for (a step recorded already is recorded
//     once), so when the saved deadline passes the saga records the step
//     and asks for the payment, or the confirmation. Until then it takes
//     any event in as the new phase does.
//   - A parked saga learns where it parked: settling if the order had
//     confirmed, compensating if it had given up, else confirming.
//   - A failure without its step (every version saved it; a row written
//     by hand may lack it) takes the last step the row recorded.
func (s *State) upgrade(completed []messages.SagaStep) {
	if f := s.Failure; f != nil && !f.Step.Valid() && len(completed) > 0 {
		f.Step = completed[len(completed)-1]
	}
	switch s.Phase {
	case legacyMarkingReserved:
		s.Phase, s.Payment, s.Attempts = PhaseAuthorizing, PartPending, 0
	case legacyMarkingAuthorized:
		s.Phase, s.Attempts = PhaseConfirming, 0
	case PhaseParked:
		if s.ParkedIn != "" {
			break
		}
		switch {
		case s.Failure != nil:
			s.ParkedIn = PhaseCompensating
		case slices.Contains(completed, messages.StepOrderConfirmed):
			s.ParkedIn = PhaseSettling
		default:
			s.ParkedIn = PhaseConfirming
		}
	}
}
