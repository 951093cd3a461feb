// Package sagas drives every placed order to a final state. The order saga
// is an orchestrator: it reacts to events of the three contexts and sends
// the next command — reserve stock, authorize payment, confirm — or, on a
// refusal, failure, timeout or cancellation, compensates the completed steps
// in reverse (void the payment, release the stock).
//
// This file is the saga's pure decision logic. It advances only on events
// (and on its own deadlines), so a duplicate or late event has no effect or
// is compensated, and it is unit-tested without any server.
package sagas

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/messages"
)

// SagaType labels the order saga in metrics and storage.
const SagaType = "order"

// Phase is where the saga stands. Each phase waits for specific events.
type Phase string

// The phases of the order saga, in the order of a successful run. A
// compensating saga goes to Compensating, then Ending, then Done.
//
// A phase that begins with a step completed records that step on the
// order first (MarkOrderStep, with the phase's other commands): the
// processor runs the order's commands in the saga's own transaction, so
// the step is recorded when the phase's state commits, and the saga needs
// no phase of its own to wait for it.
const (
	// Reserving waits for a reservation answer per line.
	PhaseReserving Phase = "RESERVING"
	// Authorizing has the order record INVENTORY_RESERVED and waits for
	// the payment answer.
	PhaseAuthorizing Phase = "AUTHORIZING"
	// Confirming has the order record PAYMENT_AUTHORIZED and waits for
	// OrderConfirmed.
	PhaseConfirming Phase = "CONFIRMING"
	// Settling commits the stock of a confirmed order, then captures its
	// payment.
	PhaseSettling Phase = "SETTLING"
	// Compensating undoes completed steps, newest first.
	PhaseCompensating Phase = "COMPENSATING"
	// Ending waits for the order to record its cancellation or failure.
	PhaseEnding Phase = "ENDING"
	// Done is final; late replies are still compensated.
	PhaseDone Phase = "DONE"
	// Parked needs an operator: a compensation (or the settlement of a
	// confirmed order) kept going unanswered. It still takes late answers
	// in and finishes once nothing is left to undo or settle; Redrive
	// resumes it.
	PhaseParked Phase = "PARKED"
)

// Outcome is how a finished saga ended, for metrics.
type Outcome string

// Saga outcomes.
const (
	OutcomeConfirmed Outcome = "confirmed"
	OutcomeCancelled Outcome = "cancelled"
	OutcomeFailed    Outcome = "failed"
	OutcomeParked    Outcome = "parked"
)

// Part is the state of one reservation or of the payment.
type Part string

// States of a line's reservation or of the payment.
const (
	PartPending  Part = "PENDING"  // asked, no answer yet
	PartDone     Part = "DONE"     // reserved / authorized
	PartRejected Part = "REJECTED" // refused by the domain
	PartUndone   Part = "UNDONE"   // released / voided
	PartSettled  Part = "SETTLED"  // committed / captured
)

// Line is one product of the order and its reservation.
type Line struct {
	ProductID string `json:"productId"`
	Quantity  int    `json:"quantity"`
	State     Part   `json:"state"`
}

// Failure is why the saga compensates.
type Failure struct {
	Code    errcode.Code      `json:"code,omitempty"`
	Message string            `json:"message"`
	Step    messages.SagaStep `json:"step,omitempty"`
	// Fail ends the order FAILED instead of CANCELLED.
	Fail bool `json:"fail,omitempty"`
}

// Policy is the timing of the saga's deadlines.
type Policy struct {
	// StepTimeout is how long a step waits for its answer before the
	// command is sent again.
	StepTimeout time.Duration
	// MaxAttempts is how often a step's command is sent in all; after that
	// the saga compensates with SAGA_TIMEOUT (or, while compensating, parks).
	MaxAttempts int
	// MaxBackoff caps the growing wait between attempts.
	MaxBackoff time.Duration
}

// DefaultPolicy suits a healthy deployment: a step that does not answer in
// 5 s is retried at 5, 10, 20 s, then given up.
func DefaultPolicy() Policy {
	return Policy{StepTimeout: 5 * time.Second, MaxAttempts: 4, MaxBackoff: time.Minute}
}

// State is one order's saga, persisted as JSON between events.
type State struct {
	OrderID    string       `json:"orderId"`
	CustomerID string       `json:"customerId"`
	Amount     money.Amount `json:"amount"`
	Lines      []Line       `json:"lines"`
	Payment    Part         `json:"payment,omitempty"`
	Phase      Phase        `json:"phase"`
	// Failure is why the saga gave up; its Step is the last step the
	// order had completed then (see CompletedSteps).
	Failure *Failure `json:"failure,omitempty"`
	// TimedOut is set when CONFIRMING ran out of attempts: the saga asked
	// the order to cancel and compensates only once the order recorded that
	// request, because ConfirmOrder may still land first.
	TimedOut *Failure `json:"timedOut,omitempty"`
	// Compensations lists what was undone, e.g. "PAYMENT_AUTHORIZED:VoidPayment".
	Compensations []string `json:"compensations,omitempty"`
	Attempts      int      `json:"attempts"`
	// Unsent is set when the commands of the current attempt never reached
	// Kafka (the broker was down or unreachable): the next deadline sends
	// them again without counting an attempt, since nobody could have
	// answered a command nobody received (see OnDeadline).
	Unsent    bool      `json:"unsent,omitempty"`
	Deadline  time.Time `json:"deadline,omitzero"`
	StartedAt time.Time `json:"startedAt"`
	EndedAt   time.Time `json:"endedAt,omitzero"`
	Outcome   Outcome   `json:"outcome,omitempty"`
	// OrderEnded is the final status the order recorded (CANCELLED or
	// FAILED) as the saga saw it. A saga that parks while compensating
	// fails its order (COMPENSATION_FAILED) as it parks, so once a re-drive
	// or a late answer finished the compensation there is nothing left to
	// ask of the order: the saga ends with the status the order has.
	OrderEnded messages.OrderStatus `json:"orderEnded,omitempty"`
	// Redrives are the nonces of the operator's re-drives (Redrive), oldest
	// first. From a re-drive on, every command of the saga, deadline
	// re-sends included, goes under an id derived from the last nonce: the
	// same business key (order, product, customer) under a new message id,
	// which a handler that recorded or dead-lettered the old one decides
	// afresh.
	Redrives []string `json:"redrives,omitempty"`
	// ParkedAt is when the saga first parked; kept after a re-drive.
	ParkedAt time.Time `json:"parkedAt,omitzero"`
	// ParkedIn is the phase the saga was in when it last parked (SETTLING,
	// CONFIRMING, COMPENSATING or ENDING): what a re-drive resumes.
	ParkedIn Phase `json:"parkedIn,omitempty"`
}

// Command is a command the saga wants sent. ID is stable for the same
// command of the same saga, so a re-send is recognised by the handler's inbox.
type Command struct {
	ID      string
	Message messages.Command
}

// Decision is what handling an event or a deadline produced.
type Decision struct {
	Commands []Command
	// Compensated lists the steps undone by this decision, for metrics.
	Compensated []messages.SagaStep
	// Finished is set when the saga reached Done or Parked now.
	Finished bool
	// Counted is set with Finished when the saga's end was counted
	// already: it parked before, and now finishes (after a re-drive, or
	// because the answers it gave up on arrived after all) or parks again.
	Counted bool
}

// Active reports whether the saga still waits for something.
func (s *State) Active() bool { return s.Phase != PhaseDone && s.Phase != PhaseParked && s.Phase != "" }

// Start creates the saga of a placed order and asks for every reservation.
func Start(e messages.OrderPlaced, now time.Time, p Policy, jitter func() float64) (*State, Decision) {
	s := &State{
		OrderID:    e.OrderID,
		CustomerID: e.CustomerID,
		Amount:     e.Total,
		Phase:      PhaseReserving,
		StartedAt:  now,
	}
	for _, l := range e.Items {
		s.Lines = append(s.Lines, Line{ProductID: l.ProductID, Quantity: l.Quantity, State: PartPending})
	}
	s.arm(now, p, jitter)
	return s, Decision{Commands: s.outstanding()}
}

// Handle advances the saga on one event of its order. Events that do not
// move it (duplicates, stale answers) return an empty decision.
func (s *State) Handle(e messages.Event, now time.Time, p Policy, jitter func() float64) Decision {
	before := s.Phase
	var d Decision
	switch e := e.(type) {
	case messages.StockReserved:
		d = s.onReservation(e.ProductID, PartDone, now)
	case messages.StockReservationRejected:
		d = s.onReservation(e.ProductID, PartRejected, now)
	case messages.StockReleased:
		s.setLine(e.ProductID, PartUndone)
		d = s.compensate(now, false)
	case messages.StockCommitted:
		d = s.onCommitted(e.ProductID, now)
	case messages.PaymentAuthorized:
		d = s.onPayment(PartDone, now)
	case messages.PaymentAuthorizationRejected:
		d = s.onPayment(PartRejected, now)
	case messages.PaymentVoided:
		if s.Payment != PartUndone { // a second void of the order changes nothing
			s.Payment = PartUndone
			d = s.compensate(now, true)
		}
	case messages.PaymentCaptured:
		s.Payment = PartSettled
		d = s.settle(now)
	case messages.OrderConfirmed:
		// A saga parked because the order answered neither confirmation
		// nor cancellation is revived by the answer.
		if s.Phase == PhaseConfirming || (s.Phase == PhaseParked && s.ParkedIn == PhaseConfirming && s.Failure == nil) {
			s.Phase = PhaseSettling
			d.Commands = s.outstanding()
		}
	case messages.OrderCancellationRequested:
		if s.cancellable() {
			f := Failure{Message: cancelMessage(e.Reason)}
			if s.TimedOut != nil {
				f = *s.TimedOut
			}
			d = s.beginCompensation(f, now)
		}
	case messages.OrderCancelled:
		d = s.onOrderEnded(messages.StatusCancelled, now)
	case messages.OrderFailed:
		d = s.onOrderEnded(messages.StatusFailed, now)
	}
	if s.Active() && (s.Phase != before || len(d.Commands) > 0) {
		s.Attempts = 0
		s.arm(now, p, jitter)
	}
	if !s.Active() {
		s.Deadline = time.Time{}
	}
	return d
}

// OnDeadline is called when the saga's deadline passed without progress:
// the outstanding commands are sent again with a growing backoff, and when
// the attempts are used up the saga compensates (SAGA_TIMEOUT) or, if it
// was already compensating, parks for an operator (COMPENSATION_FAILED).
//
// Only silence counts: an attempt whose commands never reached Kafka
// (Unsent) is sent again at the same backoff without using up an attempt,
// so a broker outage of any length is waited out and the saga carries on
// where it stood once the broker is back. Refusals never wait for a
// deadline: they arrive as events and compensate at once.
func (s *State) OnDeadline(now time.Time, p Policy, jitter func() float64) Decision {
	if !s.Active() {
		return Decision{}
	}
	if s.Unsent {
		s.Unsent = false
		s.arm(now, p, jitter)
		return Decision{Commands: s.outstanding()}
	}
	s.Attempts++
	if s.Attempts < p.MaxAttempts {
		s.arm(now, p, jitter)
		return Decision{Commands: s.outstanding()}
	}
	switch {
	case s.Phase == PhaseConfirming && s.TimedOut == nil:
		// ConfirmOrder may yet land. Undoing now could undo a sale, so the
		// order is asked to record a cancellation first: whichever of the
		// two the order records decides, and the saga follows its event.
		s.TimedOut = &Failure{
			Code:    errcode.SagaTimeout,
			Message: fmt.Sprintf("no answer for %s after %d attempts", s.waitingFor(), s.Attempts),
			Step:    s.lastCompleted(),
			Fail:    true,
		}
		s.Attempts = 0
		s.arm(now, p, jitter)
		return Decision{Commands: s.outstanding()}
	case s.Phase == PhaseConfirming:
		// Neither confirmed nor cancelled after all attempts: the order
		// stream is not answering, an operator must look.
		return s.park(now)
	}
	switch s.Phase {
	case PhaseSettling:
		// The order is confirmed; committing and capturing must still
		// happen, so an operator takes over rather than undoing a sale.
		return s.park(now)
	case PhaseCompensating, PhaseEnding:
		d := s.park(now)
		d.Commands = append(d.Commands, s.command("fail:compensation", messages.FailOrder{
			OrderID: s.OrderID, Code: errcode.CompensationFailed,
			Message: fmt.Sprintf("compensation did not complete after %d attempts; an operator must finish it", s.Attempts),
		}))
		return d
	}
	step := s.waitingFor()
	d := s.beginCompensation(Failure{
		Code:    errcode.SagaTimeout,
		Message: fmt.Sprintf("no answer for %s after %d attempts", step, s.Attempts),
		Step:    s.lastCompleted(),
		Fail:    true,
	}, now)
	s.Attempts = 0
	s.arm(now, p, jitter)
	return d
}

func (s *State) onReservation(productID string, answer Part, now time.Time) Decision {
	line := s.line(productID)
	if line == nil {
		return Decision{}
	}
	if s.Failure != nil {
		// A late reservation after the saga gave up: give the stock back.
		if answer == PartDone && line.State == PartPending {
			line.State = PartDone
			release := s.command("release:"+productID, messages.ReleaseStock{ProductID: productID, OrderID: s.OrderID})
			d := s.compensate(now, false)
			d.Commands = append(d.Commands, release)
			return d
		}
		if line.State == PartPending {
			line.State = answer
		}
		return Decision{}
	}
	if s.Phase != PhaseReserving || line.State != PartPending {
		return Decision{}
	}
	line.State = answer
	if answer == PartRejected {
		return s.beginCompensation(Failure{
			Code:    errcode.InventoryUnavailable,
			Message: fmt.Sprintf("not enough stock of product %s for %d units", productID, line.Quantity),
			Step:    messages.StepOrderCreated,
		}, now)
	}
	for _, l := range s.Lines {
		if l.State != PartDone {
			return Decision{}
		}
	}
	s.Phase = PhaseAuthorizing
	s.Payment = PartPending
	return Decision{Commands: s.outstanding()}
}

func (s *State) onPayment(answer Part, now time.Time) Decision {
	switch {
	case s.Phase == PhaseAuthorizing && s.Payment == PartPending:
		s.Payment = answer
		if answer == PartRejected {
			return s.beginCompensation(Failure{
				Code:    errcode.PaymentFailed,
				Message: fmt.Sprintf("payment of %s was refused", s.Amount),
				Step:    messages.StepInventoryReserved,
			}, now)
		}
		s.Phase = PhaseConfirming
		return Decision{Commands: s.outstanding()}
	case answer == PartDone && s.Payment == PartPending && s.Failure != nil:
		// A late authorization after the saga gave up (a void sent while
		// it was pending found nothing to void): void it now.
		s.Payment = PartDone
		void := s.command("void:authorized", messages.VoidPayment{CustomerID: s.CustomerID, OrderID: s.OrderID})
		d := s.compensate(now, false)
		d.Commands = append(d.Commands, void)
		return d
	case s.Payment == PartPending:
		if answer == PartRejected {
			s.Payment = PartRejected
		}
	}
	return Decision{}
}

// onOrderEnded takes the order's cancellation or failure in: it ends a
// saga waiting for it, and a compensating or parked saga keeps it, to end
// with it once nothing is left to undo (a parked saga failed its order as
// it parked; if everything was undone already, it finishes now). Elsewhere
// it is stale.
func (s *State) onOrderEnded(status messages.OrderStatus, now time.Time) Decision {
	switch s.Phase {
	case PhaseEnding:
		s.OrderEnded = status
		return s.finish(now, s.endOutcome())
	case PhaseCompensating:
		s.OrderEnded = status
	case PhaseParked:
		if s.Failure != nil && !s.confirmed() {
			s.OrderEnded = status
			return s.compensate(now, false)
		}
	}
	return Decision{}
}

// onCommitted takes a line's commit in. Settlement goes one context at a
// time, stock first: the capture is asked for once the last line is
// committed, so the answers of the two contexts never reach the saga at
// the same moment from two consumers, one waiting for the other's lock
// (docs/benchmarks.md, "2026-12-01, evening"). A saga of an earlier
// version asked for both at once; its answers arrive in any order, and
// the capture is asked for again under the same id (the handler's inbox
// answers it with nothing). A saga parked while settling asks for the
// capture too when the last commit arrives late: nothing of a confirmed
// sale is ever undone, so going on needs no operator, and the capture's
// answer finishes it.
func (s *State) onCommitted(productID string, now time.Time) Decision {
	line := s.line(productID)
	if line == nil || line.State == PartSettled {
		return Decision{}
	}
	line.State = PartSettled
	switch {
	case !s.settling() || s.anyLineNot(PartSettled):
		return Decision{}
	case s.Payment == PartSettled:
		return s.settle(now)
	}
	return Decision{Commands: []Command{s.capture()}}
}

// settle finishes a confirmed saga once stock is committed and the payment
// captured. A saga parked while settling finishes too when the last answer
// arrives (after a re-drive, or late): the sale is complete.
func (s *State) settle(now time.Time) Decision {
	if !s.settling() || s.Payment != PartSettled || s.anyLineNot(PartSettled) {
		return Decision{}
	}
	return s.finish(now, OutcomeConfirmed)
}

// settling reports whether the saga settles a confirmed order: in
// Settling, or parked there (it still takes the answers in).
func (s *State) settling() bool {
	return s.Phase == PhaseSettling || (s.Phase == PhaseParked && s.Failure == nil && s.confirmed())
}

func (s *State) cancellable() bool {
	switch s.Phase {
	case PhaseReserving, PhaseAuthorizing, PhaseConfirming:
		return true
	}
	return false
}

func (s *State) beginCompensation(f Failure, now time.Time) Decision {
	if f.Step == "" {
		f.Step = s.lastCompleted()
	}
	s.Failure = &f
	s.Phase = PhaseCompensating
	return s.compensate(now, true)
}

// compensate undoes what is done, newest first: the payment before the
// stock. When a stage begins (send) it sends that stage's commands; as
// answers arrive it only checks whether anything is left and, when nothing
// is, ends the order — or, if the order ended already (a saga that parked
// failed it), finishes at once.
//
// A saga parked while compensating still takes the answers in: it records
// each compensation on the order, and once nothing is left to undo it
// finishes. It sends no new stage by itself (it waits for an operator's
// re-drive, which resumes it in Compensating). now is only used when the
// saga may finish (answers to its compensation, a re-drive).
func (s *State) compensate(now time.Time, send bool) Decision {
	parked := s.Phase == PhaseParked && s.Failure != nil && !s.confirmed()
	if s.Phase != PhaseCompensating && !parked {
		return Decision{}
	}
	send = send && !parked
	var d Decision
	if s.Payment == PartUndone && !s.compensated(messages.StepPaymentAuthorized) {
		d.Compensated = append(d.Compensated, messages.StepPaymentAuthorized)
		s.Compensations = append(s.Compensations, compensationKey(messages.StepPaymentAuthorized, "VoidPayment"))
		d.Commands = append(d.Commands, s.command("compensated:payment", messages.RecordOrderCompensation{
			OrderID: s.OrderID, Step: messages.StepPaymentAuthorized, Action: "VoidPayment", Reason: s.Failure.reason(),
		}))
	}
	if s.Payment == PartDone || s.anyLine(PartDone) {
		if send {
			d.Commands = append(d.Commands, s.outstanding()...)
		}
		return d
	}
	if s.anyLine(PartUndone) && !s.compensated(messages.StepInventoryReserved) {
		d.Compensated = append(d.Compensated, messages.StepInventoryReserved)
		s.Compensations = append(s.Compensations, compensationKey(messages.StepInventoryReserved, "ReleaseInventory"))
		d.Commands = append(d.Commands, s.command("compensated:inventory", messages.RecordOrderCompensation{
			OrderID: s.OrderID, Step: messages.StepInventoryReserved, Action: "ReleaseInventory", Reason: s.Failure.reason(),
		}))
	}
	if parked && s.OrderEnded == "" {
		return d // the order's end, which the park asked for, is still to come
	}
	if s.OrderEnded != "" {
		fd := s.finish(now, s.endedOutcome())
		d.Finished, d.Counted = fd.Finished, fd.Counted
		return d
	}
	s.Phase = PhaseEnding
	d.Commands = append(d.Commands, s.outstanding()...)
	return d
}

// outstanding are the commands the current phase waits on; the deadline
// sends them again.
func (s *State) outstanding() []Command {
	var cmds []Command
	switch s.Phase {
	case PhaseReserving:
		for _, l := range s.Lines {
			if l.State == PartPending {
				cmds = append(cmds, s.command("reserve:"+l.ProductID, messages.ReserveStock{ProductID: l.ProductID, OrderID: s.OrderID, Quantity: l.Quantity}))
			}
		}
	case PhaseAuthorizing:
		// The step first: a re-send records it again under the same id,
		// which the order's inbox answers with nothing.
		cmds = append(cmds, s.markStep(messages.StepInventoryReserved),
			s.command("authorize", messages.AuthorizePayment{CustomerID: s.CustomerID, OrderID: s.OrderID, Amount: s.Amount}))
	case PhaseConfirming:
		if s.TimedOut != nil {
			// The step was recorded when the confirmation was first asked.
			cmds = append(cmds, s.command("cancel:timeout", messages.CancelOrder{OrderID: s.OrderID, Reason: string(errcode.SagaTimeout), RequestedBy: "saga"}))
		} else {
			cmds = append(cmds, s.markStep(messages.StepPaymentAuthorized), s.command("confirm", messages.ConfirmOrder{OrderID: s.OrderID}))
		}
	case PhaseSettling:
		// The stock first, then the payment (see onCommitted).
		for _, l := range s.Lines {
			if l.State != PartSettled {
				cmds = append(cmds, s.command("commit:"+l.ProductID, messages.CommitStock{ProductID: l.ProductID, OrderID: s.OrderID}))
			}
		}
		if len(cmds) == 0 && s.Payment != PartSettled {
			cmds = append(cmds, s.capture())
		}
	case PhaseCompensating:
		// Newest first: the payment is voided (and confirmed) before any
		// stock is released. An authorization still pending is voided too,
		// in case it lands later; its answer is not awaited.
		switch s.Payment {
		case PartDone:
			return append(cmds, s.command("void:authorized", messages.VoidPayment{CustomerID: s.CustomerID, OrderID: s.OrderID}))
		case PartPending:
			cmds = append(cmds, s.command("void:pending", messages.VoidPayment{CustomerID: s.CustomerID, OrderID: s.OrderID}))
		}
		for _, l := range s.Lines {
			if l.State == PartDone {
				cmds = append(cmds, s.command("release:"+l.ProductID, messages.ReleaseStock{ProductID: l.ProductID, OrderID: s.OrderID}))
			}
		}
	case PhaseEnding:
		f := s.Failure
		if f.Fail {
			cmds = append(cmds, s.command("fail", messages.FailOrder{OrderID: s.OrderID, Code: f.Code, Message: f.Message}))
		} else {
			cmds = append(cmds, s.command("cancel", messages.CompleteOrderCancellation{OrderID: s.OrderID, Code: f.Code, Message: f.Message}))
		}
	}
	return cmds
}

// waitingFor names what the current phase waits on, for timeout messages.
func (s *State) waitingFor() string {
	switch s.Phase {
	case PhaseReserving:
		return "the inventory reservation"
	case PhaseAuthorizing:
		return "the payment authorization"
	case PhaseConfirming:
		return "the order confirmation"
	default:
		return "step " + string(s.Phase)
	}
}

func (s *State) finish(now time.Time, o Outcome) Decision {
	d := Decision{Finished: true, Counted: s.parkedBefore()}
	s.Phase = PhaseDone
	s.Outcome = o
	s.EndedAt = now
	s.Deadline = time.Time{}
	return d
}

func (s *State) park(now time.Time) Decision {
	d := Decision{Finished: true, Counted: s.parkedBefore()}
	if s.ParkedAt.IsZero() {
		s.ParkedAt = now
	}
	s.ParkedIn = s.Phase
	s.Phase = PhaseParked
	s.Outcome = OutcomeParked
	s.EndedAt = now
	s.Deadline = time.Time{}
	return d
}

// parkedBefore reports whether the saga parked before (a state saved by
// an earlier version has no ParkedAt, but may be parked now).
func (s *State) parkedBefore() bool { return s.Phase == PhaseParked || !s.ParkedAt.IsZero() }

// endedOutcome is the outcome of a saga whose order ended before its
// compensation did: the order's status decides.
func (s *State) endedOutcome() Outcome {
	if s.OrderEnded == messages.StatusCancelled {
		return OutcomeCancelled
	}
	return OutcomeFailed
}

// confirmed reports whether the order recorded its confirmation: the saga
// moves to Settling in the transaction that confirms it, and only a
// confirmed saga settles, finishes confirmed or parks while settling.
func (s *State) confirmed() bool {
	switch s.Phase {
	case PhaseSettling:
		return true
	case PhaseDone:
		return s.Outcome == OutcomeConfirmed
	case PhaseParked:
		return s.ParkedIn == PhaseSettling
	}
	return false
}

func (s *State) endOutcome() Outcome {
	if s.Failure != nil && s.Failure.Fail {
		return OutcomeFailed
	}
	return OutcomeCancelled
}

// arm sets the next deadline: StepTimeout doubled per attempt, capped, with
// up to 20% jitter so retries of many sagas do not arrive in lockstep.
func (s *State) arm(now time.Time, p Policy, jitter func() float64) {
	s.Unsent = false
	d := p.StepTimeout << min(s.Attempts, 16)
	if p.MaxBackoff > 0 && d > p.MaxBackoff {
		d = p.MaxBackoff
	}
	d += time.Duration(float64(d) * 0.2 * jitter())
	s.Deadline = now.Add(d)
}

func (s *State) command(key string, m messages.Command) Command {
	id := CommandID(s.OrderID, key)
	if n := len(s.Redrives); n > 0 {
		id = redrivenID(id, s.Redrives[n-1])
	}
	return Command{ID: id, Message: m}
}

// redrivenID is the id of the command usually sent as id, after the
// re-drive with nonce.
func redrivenID(id, nonce string) string {
	return uuid.NewSHA1(sagaNamespace, []byte(id+"\x00redrive\x00"+nonce)).String()
}

// CommandID derives the stable message id of a saga's command.
func CommandID(orderID, key string) string {
	return uuid.NewSHA1(sagaNamespace, []byte(orderID+"\x00"+key)).String()
}

var sagaNamespace = uuid.MustParse("8d6f9a40-2a0b-4c55-9a3e-1f0d1c2b3a49")

func (s *State) line(productID string) *Line {
	for i := range s.Lines {
		if s.Lines[i].ProductID == productID {
			return &s.Lines[i]
		}
	}
	return nil
}

func (s *State) setLine(productID string, p Part) {
	if l := s.line(productID); l != nil {
		l.State = p
	}
}

func (s *State) anyLine(p Part) bool {
	return slices.ContainsFunc(s.Lines, func(l Line) bool { return l.State == p })
}

func (s *State) anyLineNot(p Part) bool {
	return slices.ContainsFunc(s.Lines, func(l Line) bool { return l.State != p })
}

// capture is the command capturing the order's payment.
func (s *State) capture() Command {
	return s.command("capture", messages.CapturePayment{CustomerID: s.CustomerID, OrderID: s.OrderID})
}

// markStep is the command recording step on the order.
func (s *State) markStep(step messages.SagaStep) Command {
	return s.command("step:"+string(step), messages.MarkOrderStep{OrderID: s.OrderID, Step: step})
}

// CompletedSteps are the saga steps the order recorded, in order. The saga
// keeps no copy of them: it has the order record a step in the transaction
// that moves it into the phase after that step (see the phases), so they
// follow from where it stands, and from the step its failure names once it
// gave up (nothing more is recorded after that).
func (s *State) CompletedSteps() []messages.SagaStep {
	return messages.AllSagaSteps()[:s.lastCompleted().Index()+1]
}

func (s *State) lastCompleted() messages.SagaStep {
	if s.Failure != nil && s.Failure.Step.Valid() {
		return s.Failure.Step
	}
	if s.confirmed() {
		return messages.StepOrderConfirmed
	}
	phase := s.Phase
	if phase == PhaseParked {
		phase = s.ParkedIn
	}
	switch phase {
	case PhaseAuthorizing:
		return messages.StepInventoryReserved
	case PhaseConfirming:
		return messages.StepPaymentAuthorized
	}
	return messages.StepOrderCreated
}

func (s *State) compensated(step messages.SagaStep) bool {
	return slices.ContainsFunc(s.Compensations, func(c string) bool { return len(c) > len(step) && c[:len(step)] == string(step) })
}

func compensationKey(step messages.SagaStep, action string) string {
	return string(step) + ":" + action
}

func (f *Failure) reason() string {
	if f.Code != "" {
		return string(f.Code)
	}
	return "CANCELLED_BY_CUSTOMER"
}

func cancelMessage(reason string) string {
	if reason == "" {
		return "cancelled at the customer's request"
	}
	return "cancelled at the customer's request: " + reason
}
