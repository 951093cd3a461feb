package sagas

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/command/domain/inventory"
	"github.com/orderflow/orderflow/command/domain/ordering"
	"github.com/orderflow/orderflow/command/domain/payments"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/messages"
)

// ---------------------------------------------------------------------------
// Fixtures and helpers
// ---------------------------------------------------------------------------

const (
	testOrder    = "order-1"
	testCustomer = "customer-1"
	testPrice    = money.Amount(250)
)

var (
	// t0 is the fixed clock of every scenario test.
	t0 = time.Date(2025, time.March, 14, 9, 26, 53, 0, time.UTC)
	// testPolicy keeps the numbers small: 1 s, 2 s, then capped at 3 s;
	// three sends in all before the saga gives up.
	testPolicy = Policy{StepTimeout: time.Second, MaxAttempts: 3, MaxBackoff: 3 * time.Second}
)

// noJitter makes every deadline exact.
func noJitter() float64 { return 0 }

func item(product string, qty int) messages.OrderLine {
	return messages.OrderLine{ProductID: product, ProductName: "Product " + product, SKU: "SKU-" + product, Quantity: qty, UnitPrice: testPrice}
}

func total(items []messages.OrderLine) money.Amount {
	var sum money.Amount
	for _, it := range items {
		sum += it.UnitPrice * money.Amount(it.Quantity)
	}
	return sum
}

func placedOrder(items ...messages.OrderLine) messages.OrderPlaced {
	return messages.OrderPlaced{OrderID: testOrder, CustomerID: testCustomer, Items: items, Total: total(items), Currency: money.DefaultCurrency, PlacedAt: t0}
}

// twoLines is the multi-line order most scenarios use: p1 x1 and p2 x2.
func twoLines() []messages.OrderLine { return []messages.OrderLine{item("p1", 1), item("p2", 2)} }

// start begins a saga at t0 and returns the commands it sent.
func start(t *testing.T, items ...messages.OrderLine) (*State, []Command) {
	t.Helper()
	s, d := Start(placedOrder(items...), t0, testPolicy, noJitter)
	require.NotNil(t, s)
	require.False(t, d.Finished)
	return s, d.Commands
}

// run feeds events to the saga at t0 and returns every command it sent.
func run(t *testing.T, s *State, events ...messages.Event) []Command {
	t.Helper()
	var out []Command
	for _, e := range events {
		out = append(out, s.Handle(e, t0, testPolicy, noJitter).Commands...)
	}
	return out
}

// expire fires the saga's deadline at the deadline itself.
func expire(t *testing.T, s *State) Decision {
	t.Helper()
	require.False(t, s.Deadline.IsZero(), "an active saga has a deadline")
	return s.OnDeadline(s.Deadline, testPolicy, noJitter)
}

// plain strips the ids and the free-text messages of CompleteOrderCancellation
// and FailOrder, so sequences can be compared exactly; messages are checked
// on their own where they matter.
func plain(cmds []Command) []messages.Command {
	out := make([]messages.Command, 0, len(cmds))
	for _, c := range cmds {
		switch m := c.Message.(type) {
		case messages.CompleteOrderCancellation:
			m.Message = ""
			out = append(out, m)
		case messages.FailOrder:
			m.Message = ""
			out = append(out, m)
		default:
			out = append(out, m)
		}
	}
	return out
}

func ids(cmds []Command) []string {
	out := make([]string, 0, len(cmds))
	for _, c := range cmds {
		out = append(out, c.ID)
	}
	return out
}

func ofType[M messages.Command](cmds []Command) []Command {
	var out []Command
	for _, c := range cmds {
		if _, ok := c.Message.(M); ok {
			out = append(out, c)
		}
	}
	return out
}

// clone copies a state deeply enough to compare it after more events.
func clone(s *State) State {
	c := *s
	c.Lines = slices.Clone(s.Lines)
	c.Compensations = slices.Clone(s.Compensations)
	if s.Failure != nil {
		f := *s.Failure
		c.Failure = &f
	}
	return c
}

// Events of order testOrder.

func reserved(p string) messages.Event {
	return messages.StockReserved{ProductID: p, OrderID: testOrder, Quantity: 1}
}

func outOfStock(p string) messages.Event {
	return messages.StockReservationRejected{ProductID: p, OrderID: testOrder, Requested: 1, Reason: messages.ReasonInsufficientStock}
}

func released(p string) messages.Event {
	return messages.StockReleased{ProductID: p, OrderID: testOrder, Quantity: 1}
}

func committed(p string) messages.Event {
	return messages.StockCommitted{ProductID: p, OrderID: testOrder, Quantity: 1}
}

func authorized() messages.Event {
	return messages.PaymentAuthorized{CustomerID: testCustomer, OrderID: testOrder, Amount: 1}
}

func refused() messages.Event {
	return messages.PaymentAuthorizationRejected{CustomerID: testCustomer, OrderID: testOrder, Amount: 1, Reason: messages.ReasonInsufficientFunds}
}

func voided() messages.Event {
	return messages.PaymentVoided{CustomerID: testCustomer, OrderID: testOrder, Amount: 1}
}

func captured() messages.Event {
	return messages.PaymentCaptured{CustomerID: testCustomer, OrderID: testOrder, Amount: 1}
}

func stepDone(step messages.SagaStep) messages.Event {
	return messages.OrderStepCompleted{OrderID: testOrder, Step: step, At: t0}
}

func confirmed() messages.Event { return messages.OrderConfirmed{OrderID: testOrder, At: t0} }

func cancelRequested() messages.Event {
	return messages.OrderCancellationRequested{OrderID: testOrder, Reason: "changed my mind", By: testCustomer, At: t0}
}

func cancelled() messages.Event { return messages.OrderCancelled{OrderID: testOrder, At: t0} }

func failed() messages.Event {
	return messages.OrderFailed{OrderID: testOrder, Code: errcode.SagaTimeout, At: t0}
}

// Commands the saga sends for testOrder.

func reserveCmd(p string, qty int) messages.Command {
	return messages.ReserveStock{ProductID: p, OrderID: testOrder, Quantity: qty}
}

func releaseCmd(p string) messages.Command {
	return messages.ReleaseStock{ProductID: p, OrderID: testOrder}
}

func commitCmd(p string) messages.Command {
	return messages.CommitStock{ProductID: p, OrderID: testOrder}
}

func authorizeCmd(amount money.Amount) messages.Command {
	return messages.AuthorizePayment{CustomerID: testCustomer, OrderID: testOrder, Amount: amount}
}

func voidCmd() messages.Command {
	return messages.VoidPayment{CustomerID: testCustomer, OrderID: testOrder}
}

func captureCmd() messages.Command {
	return messages.CapturePayment{CustomerID: testCustomer, OrderID: testOrder}
}

func markCmd(step messages.SagaStep) messages.Command {
	return messages.MarkOrderStep{OrderID: testOrder, Step: step}
}

func confirmCmd() messages.Command { return messages.ConfirmOrder{OrderID: testOrder} }

func recordCmd(step messages.SagaStep, action, reason string) messages.Command {
	return messages.RecordOrderCompensation{OrderID: testOrder, Step: step, Action: action, Reason: reason}
}

func recordReleased(reason string) messages.Command {
	return recordCmd(messages.StepInventoryReserved, "ReleaseInventory", reason)
}

func recordVoided(reason string) messages.Command {
	return recordCmd(messages.StepPaymentAuthorized, "VoidPayment", reason)
}

func cancelCmd(code errcode.Code) messages.Command {
	return messages.CompleteOrderCancellation{OrderID: testOrder, Code: code}
}

func failCmd(code errcode.Code) messages.Command {
	return messages.FailOrder{OrderID: testOrder, Code: code}
}

func id(key string) string { return CommandID(testOrder, key) }

const byCustomer = "CANCELLED_BY_CUSTOMER"

// step is one event of a scenario with the commands it must send and the
// phase it must leave the saga in.
type step struct {
	event messages.Event
	want  []messages.Command
	phase Phase
}

// play feeds the steps one by one and checks each one's commands and phase.
// It returns every command sent.
func play(t *testing.T, s *State, steps []step) []Command {
	t.Helper()
	var all []Command
	for i, st := range steps {
		got := run(t, s, st.event)
		require.Equal(t, st.want, nilIfEmpty(plain(got)), "step %d: %T", i, st.event)
		require.Equal(t, st.phase, s.Phase, "step %d: %T", i, st.event)
		all = append(all, got...)
	}
	return all
}

func nilIfEmpty(cmds []messages.Command) []messages.Command {
	if len(cmds) == 0 {
		return nil
	}
	return cmds
}

// driveTo brings a saga of the given order forward to phase, answering
// every request positively, and returns the commands sent on entering it.
func driveTo(t *testing.T, phase Phase, items ...messages.OrderLine) (*State, []Command) {
	t.Helper()
	s, cmds := start(t, items...)
	if phase == PhaseReserving {
		return s, cmds
	}
	for _, it := range items {
		cmds = run(t, s, reserved(it.ProductID))
	}
	forward := []struct {
		phase Phase
		event messages.Event
	}{
		{PhaseAuthorizing, nil},
		{PhaseConfirming, authorized()},
		{PhaseSettling, confirmed()},
	}
	for _, f := range forward {
		if f.event != nil {
			cmds = run(t, s, f.event)
		}
		require.Equal(t, f.phase, s.Phase)
		if f.phase == phase {
			return s, cmds
		}
	}
	t.Fatalf("driveTo: %s is not a forward phase", phase)
	return nil, nil
}

// ---------------------------------------------------------------------------
// Happy path
// ---------------------------------------------------------------------------

func TestHappyPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		items []messages.OrderLine
		// answer order of the reservations and of the settlement
		reservations []string
		settlement   []messages.Event
	}{
		{
			name:         "single line",
			items:        []messages.OrderLine{item("p1", 2)},
			reservations: []string{"p1"},
			settlement:   []messages.Event{committed("p1"), captured()},
		},
		{
			name:         "three lines answered out of order",
			items:        []messages.OrderLine{item("p1", 1), item("p2", 2), item("p3", 3)},
			reservations: []string{"p3", "p1", "p2"},
			settlement:   []messages.Event{committed("p2"), committed("p3"), committed("p1"), captured()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, sent := start(t, tt.items...)

			var reserves []messages.Command
			for _, it := range tt.items {
				reserves = append(reserves, reserveCmd(it.ProductID, it.Quantity))
			}
			require.Equal(t, reserves, plain(sent))
			require.Equal(t, PhaseReserving, s.Phase)
			require.Equal(t, t0.Add(time.Second), s.Deadline)
			require.True(t, s.Active())

			var steps []step
			for i, p := range tt.reservations {
				st := step{event: reserved(p), phase: PhaseReserving}
				if i == len(tt.reservations)-1 {
					st = step{event: reserved(p), want: []messages.Command{markCmd(messages.StepInventoryReserved), authorizeCmd(total(tt.items))}, phase: PhaseAuthorizing}
				}
				steps = append(steps, st)
			}
			// Settlement: the stock first, then the payment.
			var settle []messages.Command
			for _, it := range tt.items {
				settle = append(settle, commitCmd(it.ProductID))
			}
			steps = append(steps,
				// The order's events of the steps, applied in the transaction
				// that recorded them, change nothing.
				step{stepDone(messages.StepInventoryReserved), nil, PhaseAuthorizing},
				step{authorized(), []messages.Command{markCmd(messages.StepPaymentAuthorized), confirmCmd()}, PhaseConfirming},
				step{stepDone(messages.StepPaymentAuthorized), nil, PhaseConfirming},
				step{confirmed(), settle, PhaseSettling},
			)
			sent = append(sent, play(t, s, steps)...)

			for i, e := range tt.settlement {
				d := s.Handle(e, t0, testPolicy, noJitter)
				if i == len(tt.items)-1 {
					require.Equal(t, []messages.Command{captureCmd()}, plain(d.Commands), "the last commit asks for the capture")
				} else {
					require.Empty(t, d.Commands)
				}
				sent = append(sent, d.Commands...)
				last := i == len(tt.settlement)-1
				require.Equal(t, last, d.Finished, "settlement event %d", i)
				require.Equal(t, last, s.Phase == PhaseDone, "settlement event %d", i)
			}

			require.Equal(t, PhaseDone, s.Phase)
			require.Equal(t, OutcomeConfirmed, s.Outcome)
			require.False(t, s.Active())
			require.Equal(t, []messages.SagaStep{messages.StepOrderCreated, messages.StepInventoryReserved, messages.StepPaymentAuthorized, messages.StepOrderConfirmed}, s.CompletedSteps())
			require.Equal(t, PartSettled, s.Payment)
			for _, l := range s.Lines {
				require.Equal(t, PartSettled, l.State, l.ProductID)
			}
			require.Nil(t, s.Failure)
			require.Empty(t, s.Compensations)
			require.True(t, s.Deadline.IsZero())
			require.Equal(t, t0, s.StartedAt)
			require.Equal(t, t0, s.EndedAt)

			// Every command has its own stable id.
			require.Len(t, sent, 2*len(tt.items)+5)
			unique := slices.Compact(slices.Sorted(slices.Values(ids(sent))))
			require.Len(t, unique, len(sent), "command ids are unique")
			require.Equal(t, id("reserve:p1"), sent[0].ID)
			require.Contains(t, ids(sent), id("authorize"))
			require.Contains(t, ids(sent), id("confirm"))
			require.Contains(t, ids(sent), id("capture"))
			require.Contains(t, ids(sent), id("commit:p1"))

			// Nothing more happens after the end.
			require.Empty(t, s.OnDeadline(t0.Add(time.Hour), testPolicy, noJitter).Commands)
			require.Equal(t, PhaseDone, s.Phase)
		})
	}
}

func TestStartCopiesTheOrder(t *testing.T) {
	t.Parallel()
	s, _ := start(t, twoLines()...)
	require.Equal(t, testOrder, s.OrderID)
	require.Equal(t, testCustomer, s.CustomerID)
	require.Equal(t, money.Amount(750), s.Amount)
	require.Equal(t, []Line{{ProductID: "p1", Quantity: 1, State: PartPending}, {ProductID: "p2", Quantity: 2, State: PartPending}}, s.Lines)
	require.Equal(t, []messages.SagaStep{messages.StepOrderCreated}, s.CompletedSteps())
	require.Equal(t, Part(""), s.Payment, "no payment is asked for before the stock is reserved")
	require.Zero(t, s.Attempts)
}

func TestCommandIDIsStableAndDistinct(t *testing.T) {
	t.Parallel()
	require.Equal(t, CommandID("o1", "reserve:p1"), CommandID("o1", "reserve:p1"))
	require.NotEqual(t, CommandID("o1", "reserve:p1"), CommandID("o2", "reserve:p1"))
	require.NotEqual(t, CommandID("o1", "reserve:p1"), CommandID("o1", "reserve:p2"))
	// The separator keeps order and key apart.
	require.NotEqual(t, CommandID("o1", "xkey"), CommandID("o1x", "key"))
	require.Len(t, CommandID("o1", "k"), 36, "a UUID")
}

// ---------------------------------------------------------------------------
// Refusals
// ---------------------------------------------------------------------------

func TestOutOfStockReleasesTheReservedLine(t *testing.T) {
	t.Parallel()
	s, sent := start(t, twoLines()...)
	sent = append(sent, play(t, s, []step{
		{reserved("p1"), nil, PhaseReserving},
		{outOfStock("p2"), []messages.Command{releaseCmd("p1")}, PhaseCompensating},
		{released("p1"), []messages.Command{recordReleased("INVENTORY_UNAVAILABLE"), cancelCmd(errcode.InventoryUnavailable)}, PhaseEnding},
		{cancelled(), nil, PhaseDone},
	})...)

	require.Equal(t, OutcomeCancelled, s.Outcome)
	require.Equal(t, &Failure{Code: errcode.InventoryUnavailable, Message: "not enough stock of product p2 for 2 units", Step: messages.StepOrderCreated}, s.Failure)
	require.Equal(t, []string{"INVENTORY_RESERVED:ReleaseInventory"}, s.Compensations)
	require.Equal(t, []Line{{"p1", 1, PartUndone}, {"p2", 2, PartRejected}}, s.Lines)
	require.Equal(t, []messages.SagaStep{messages.StepOrderCreated}, s.CompletedSteps())

	require.Empty(t, ofType[messages.AuthorizePayment](sent), "no payment is ever asked for")
	require.Empty(t, ofType[messages.VoidPayment](sent))
	require.Empty(t, ofType[messages.CapturePayment](sent))
	require.Len(t, ofType[messages.RecordOrderCompensation](sent), 1)
	cancel := ofType[messages.CompleteOrderCancellation](sent)
	require.Len(t, cancel, 1)
	require.Equal(t, s.Failure.Message, cancel[0].Message.(messages.CompleteOrderCancellation).Message)
	require.Equal(t, id("cancel"), cancel[0].ID)
	require.Equal(t, id("release:p1"), ofType[messages.ReleaseStock](sent)[0].ID)
}

func TestOutOfStockBeforeAnyReservationEndsAtOnce(t *testing.T) {
	t.Parallel()
	s, _ := start(t, twoLines()...)
	sent := play(t, s, []step{
		{outOfStock("p1"), []messages.Command{cancelCmd(errcode.InventoryUnavailable)}, PhaseEnding},
		{cancelled(), nil, PhaseDone},
	})
	require.Empty(t, ofType[messages.RecordOrderCompensation](sent), "nothing was reserved, so nothing was compensated")
	require.Empty(t, s.Compensations)
	require.Equal(t, OutcomeCancelled, s.Outcome)
}

func TestInsufficientFundsReleasesStockOnly(t *testing.T) {
	t.Parallel()
	s, sent := driveTo(t, PhaseAuthorizing, twoLines()...)
	require.Equal(t, []messages.Command{markCmd(messages.StepInventoryReserved), authorizeCmd(750)}, plain(sent))
	sent = append(sent, play(t, s, []step{
		{refused(), []messages.Command{releaseCmd("p1"), releaseCmd("p2")}, PhaseCompensating},
		{released("p2"), nil, PhaseCompensating},
		{released("p1"), []messages.Command{recordReleased("PAYMENT_FAILED"), cancelCmd(errcode.PaymentFailed)}, PhaseEnding},
		{cancelled(), nil, PhaseDone},
	})...)

	require.Empty(t, ofType[messages.VoidPayment](sent), "nothing was authorized, so nothing is voided")
	require.Equal(t, OutcomeCancelled, s.Outcome)
	require.Equal(t, PartRejected, s.Payment)
	require.Equal(t, errcode.PaymentFailed, s.Failure.Code)
	require.Equal(t, messages.StepInventoryReserved, s.Failure.Step)
	require.False(t, s.Failure.Fail)
	require.Equal(t, []string{"INVENTORY_RESERVED:ReleaseInventory"}, s.Compensations)
}

// ---------------------------------------------------------------------------
// Customer cancellation
// ---------------------------------------------------------------------------

func TestCustomerCancellationInEachPhase(t *testing.T) {
	t.Parallel()
	const msg = "cancelled at the customer's request: changed my mind"
	voidThenRelease := []step{
		{cancelRequested(), []messages.Command{voidCmd()}, PhaseCompensating},
		{voided(), []messages.Command{recordVoided(byCustomer), releaseCmd("p1"), releaseCmd("p2")}, PhaseCompensating},
		{released("p2"), nil, PhaseCompensating},
		{released("p1"), []messages.Command{recordReleased(byCustomer), cancelCmd("")}, PhaseEnding},
		{cancelled(), nil, PhaseDone},
	}
	tests := []struct {
		phase         Phase
		prepare       []messages.Event // after reaching phase
		steps         []step
		failedStep    messages.SagaStep
		compensations []string
		payment       Part
	}{
		{
			phase:   PhaseReserving,
			prepare: []messages.Event{reserved("p1")}, // p2 still pending
			steps: []step{
				{cancelRequested(), []messages.Command{releaseCmd("p1")}, PhaseCompensating},
				{released("p1"), []messages.Command{recordReleased(byCustomer), cancelCmd("")}, PhaseEnding},
				{cancelled(), nil, PhaseDone},
				{outOfStock("p2"), nil, PhaseDone}, // the pending line's late refusal
			},
			failedStep:    messages.StepOrderCreated,
			compensations: []string{"INVENTORY_RESERVED:ReleaseInventory"},
		},
		{
			// The authorization is pending: it is voided blindly (its answer
			// is not awaited) and the stock released at once.
			phase: PhaseAuthorizing,
			steps: []step{
				{cancelRequested(), []messages.Command{voidCmd(), releaseCmd("p1"), releaseCmd("p2")}, PhaseCompensating},
				{released("p1"), nil, PhaseCompensating},
				{released("p2"), []messages.Command{recordReleased(byCustomer), cancelCmd("")}, PhaseEnding},
				{cancelled(), nil, PhaseDone},
			},
			failedStep:    messages.StepInventoryReserved,
			compensations: []string{"INVENTORY_RESERVED:ReleaseInventory"},
			payment:       PartPending,
		},
		{
			phase:         PhaseConfirming,
			steps:         voidThenRelease,
			failedStep:    messages.StepPaymentAuthorized,
			compensations: []string{"PAYMENT_AUTHORIZED:VoidPayment", "INVENTORY_RESERVED:ReleaseInventory"},
			payment:       PartUndone,
		},
	}
	for _, tt := range tests {
		t.Run(string(tt.phase), func(t *testing.T) {
			t.Parallel()
			s, _ := driveTo(t, tt.phase, twoLines()...)
			require.Empty(t, run(t, s, tt.prepare...))
			require.Equal(t, tt.phase, s.Phase)

			sent := play(t, s, tt.steps)

			require.Equal(t, OutcomeCancelled, s.Outcome)
			require.Equal(t, &Failure{Message: msg, Step: tt.failedStep}, s.Failure)
			require.Equal(t, tt.compensations, s.Compensations)
			require.Equal(t, tt.payment, s.Payment)
			require.True(t, s.Deadline.IsZero())
			for _, l := range s.Lines {
				require.NotEqual(t, PartDone, l.State, "line %s is still reserved", l.ProductID)
			}
			cancel := ofType[messages.CompleteOrderCancellation](sent)
			require.Len(t, cancel, 1)
			require.Equal(t, messages.CompleteOrderCancellation{OrderID: testOrder, Message: msg}, cancel[0].Message)
			require.Empty(t, ofType[messages.FailOrder](sent))

			// Reverse order: an authorized payment is voided and confirmed
			// voided before any stock is released.
			if tt.payment == PartUndone {
				firstRelease := slices.IndexFunc(sent, func(c Command) bool { _, ok := c.Message.(messages.ReleaseStock); return ok })
				firstVoid := slices.IndexFunc(sent, func(c Command) bool { _, ok := c.Message.(messages.VoidPayment); return ok })
				require.Less(t, firstVoid, firstRelease)
				require.Equal(t, id("void:authorized"), sent[firstVoid].ID)
			}
			if tt.payment == PartPending {
				require.Equal(t, id("void:pending"), ofType[messages.VoidPayment](sent)[0].ID)
			}
		})
	}
}

func TestCancellationAfterConfirmationIsIgnored(t *testing.T) {
	t.Parallel()
	s, _ := driveTo(t, PhaseSettling, twoLines()...)
	before := clone(s)
	require.Empty(t, run(t, s, cancelRequested()))
	require.Equal(t, before, clone(s))

	require.Equal(t, []messages.Command{captureCmd()}, plain(run(t, s, committed("p1"), committed("p2"), captured())))
	require.Equal(t, PhaseDone, s.Phase)
	before = clone(s)
	require.Empty(t, run(t, s, cancelRequested()))
	require.Equal(t, before, clone(s))
	require.Equal(t, OutcomeConfirmed, s.Outcome)
}

func TestSecondCancellationRequestIsIgnored(t *testing.T) {
	t.Parallel()
	s, _ := driveTo(t, PhaseConfirming, twoLines()...)
	require.Equal(t, []messages.Command{voidCmd()}, plain(run(t, s, cancelRequested())))
	before := clone(s)
	require.Empty(t, run(t, s, messages.OrderCancellationRequested{OrderID: testOrder, Reason: "again"}))
	require.Equal(t, before, clone(s))
}

// ---------------------------------------------------------------------------
// Deadlines
// ---------------------------------------------------------------------------

// phaseSetup builds a saga waiting in some phase and returns what it waits
// on: the commands a deadline must send again, with the ids they were first
// sent with.
type phaseSetup struct {
	name    string
	prepare func(t *testing.T) (*State, []Command)
}

func waitingSagas() []phaseSetup {
	return []phaseSetup{
		{"RESERVING", func(t *testing.T) (*State, []Command) { return start(t, twoLines()...) }},
		{"RESERVING one line answered", func(t *testing.T) (*State, []Command) {
			s, cmds := start(t, twoLines()...)
			require.Empty(t, run(t, s, reserved("p1")))
			return s, cmds[1:] // only p2's reservation is outstanding
		}},
		{"AUTHORIZING", func(t *testing.T) (*State, []Command) { return driveTo(t, PhaseAuthorizing, twoLines()...) }},
		{"CONFIRMING", func(t *testing.T) (*State, []Command) { return driveTo(t, PhaseConfirming, twoLines()...) }},
		{"SETTLING one line committed", func(t *testing.T) (*State, []Command) {
			s, cmds := driveTo(t, PhaseSettling, twoLines()...)
			require.Empty(t, run(t, s, committed("p1")))
			return s, cmds[1:]
		}},
		{"COMPENSATING", func(t *testing.T) (*State, []Command) {
			s, _ := driveTo(t, PhaseConfirming, twoLines()...)
			return s, run(t, s, cancelRequested())
		}},
		{"ENDING", func(t *testing.T) (*State, []Command) {
			s, _ := start(t, twoLines()...)
			return s, run(t, s, cancelRequested())
		}},
	}
}

func TestDeadlineResendsOutstandingCommandsWithTheSameIDs(t *testing.T) {
	t.Parallel()
	for _, tt := range waitingSagas() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, outstanding := tt.prepare(t)
			require.NotEmpty(t, outstanding)
			phase := s.Phase
			require.Equal(t, t0.Add(testPolicy.StepTimeout), s.Deadline, "armed when the phase began")
			require.Zero(t, s.Attempts)

			wantWait := []time.Duration{2 * time.Second, 3 * time.Second} // doubled, then capped
			for attempt := 1; attempt < testPolicy.MaxAttempts; attempt++ {
				now := s.Deadline
				d := s.OnDeadline(now, testPolicy, noJitter)
				require.Equal(t, outstanding, d.Commands, "attempt %d re-sends exactly the outstanding commands, same ids", attempt)
				require.False(t, d.Finished)
				require.Empty(t, d.Compensated)
				require.Equal(t, phase, s.Phase)
				require.Equal(t, attempt, s.Attempts)
				require.Equal(t, now.Add(wantWait[attempt-1]), s.Deadline)
			}
		})
	}
}

func TestProgressRestartsTheAttempts(t *testing.T) {
	t.Parallel()
	s, _ := start(t, twoLines()...)
	expire(t, s)
	expire(t, s)
	require.Equal(t, 2, s.Attempts)
	deadline := s.Deadline

	// Half an answer is not progress: the wait goes on.
	later := deadline.Add(-time.Millisecond)
	require.Empty(t, s.Handle(reserved("p1"), later, testPolicy, noJitter).Commands)
	require.Equal(t, 2, s.Attempts)
	require.Equal(t, deadline, s.Deadline)

	// A new phase starts with a full set of attempts.
	require.Len(t, s.Handle(reserved("p2"), later, testPolicy, noJitter).Commands, 2)
	require.Equal(t, PhaseAuthorizing, s.Phase)
	require.Zero(t, s.Attempts)
	require.Equal(t, later.Add(testPolicy.StepTimeout), s.Deadline)
	for range testPolicy.MaxAttempts - 1 {
		expire(t, s)
		require.Equal(t, PhaseAuthorizing, s.Phase)
	}
}

func TestDeadlineBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		policy Policy
		jitter float64
		waits  []float64 // seconds
	}{
		{"doubles then caps", Policy{StepTimeout: time.Second, MaxAttempts: 7, MaxBackoff: 10 * time.Second}, 0,
			[]float64{1, 2, 4, 8, 10, 10, 10}},
		{"no cap", Policy{StepTimeout: time.Second, MaxAttempts: 5}, 0,
			[]float64{1, 2, 4, 8, 16}},
		{"full jitter adds 20%", Policy{StepTimeout: time.Second, MaxAttempts: 4, MaxBackoff: 3 * time.Second}, 1,
			[]float64{1.2, 2.4, 3.6, 3.6}},
		{"half jitter adds 10%", Policy{StepTimeout: 10 * time.Second, MaxAttempts: 2, MaxBackoff: time.Minute}, 0.5,
			[]float64{11, 22}},
		{"default policy", DefaultPolicy(), 0,
			[]float64{5, 10, 20, 40}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			jitter := func() float64 { return tt.jitter }
			s, _ := Start(placedOrder(item("p1", 1)), t0, tt.policy, jitter)
			var got []time.Duration
			now := t0
			for s.Phase == PhaseReserving {
				got = append(got, s.Deadline.Sub(now))
				now = s.Deadline
				s.OnDeadline(now, tt.policy, jitter)
			}
			want := make([]time.Duration, len(tt.waits))
			for i, w := range tt.waits {
				want[i] = time.Duration(w * float64(time.Second))
			}
			// The last wait belongs to the attempt that gave up.
			require.Equal(t, want[:tt.policy.MaxAttempts], got)
			require.Equal(t, PhaseEnding, s.Phase, "gave up after MaxAttempts")
		})
	}
}

func TestTimeoutInAForwardPhaseCompensates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prepare func(t *testing.T) *State
		want    []messages.Command
		voidID  string
		phase   Phase
		step    messages.SagaStep
		waiting string
	}{
		{
			name:    "RESERVING nothing reserved",
			prepare: func(t *testing.T) *State { s, _ := start(t, twoLines()...); return s },
			want:    []messages.Command{failCmd(errcode.SagaTimeout)},
			phase:   PhaseEnding,
			step:    messages.StepOrderCreated,
			waiting: "the inventory reservation",
		},
		{
			name: "RESERVING one line reserved",
			prepare: func(t *testing.T) *State {
				s, _ := start(t, twoLines()...)
				run(t, s, reserved("p2"))
				return s
			},
			want:    []messages.Command{releaseCmd("p2")},
			phase:   PhaseCompensating,
			step:    messages.StepOrderCreated,
			waiting: "the inventory reservation",
		},
		{
			name:    "AUTHORIZING",
			prepare: func(t *testing.T) *State { s, _ := driveTo(t, PhaseAuthorizing, twoLines()...); return s },
			want:    []messages.Command{voidCmd(), releaseCmd("p1"), releaseCmd("p2")},
			voidID:  id("void:pending"),
			phase:   PhaseCompensating,
			step:    messages.StepInventoryReserved,
			waiting: "the payment authorization",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := tt.prepare(t)
			forward := s.Phase
			var d Decision
			for attempt := 1; attempt <= testPolicy.MaxAttempts; attempt++ {
				d = expire(t, s)
				if attempt < testPolicy.MaxAttempts {
					require.Equal(t, forward, s.Phase, "attempt %d still waits", attempt)
				}
			}
			now := t0.Add(time.Second + 2*time.Second + 3*time.Second) // the third deadline
			require.Equal(t, tt.phase, s.Phase)
			require.Equal(t, tt.want, plain(d.Commands))
			require.False(t, d.Finished)
			require.Equal(t, &Failure{
				Code:    errcode.SagaTimeout,
				Message: fmt.Sprintf("no answer for %s after %d attempts", tt.waiting, testPolicy.MaxAttempts),
				Step:    tt.step,
				Fail:    true,
			}, s.Failure)
			require.Zero(t, s.Attempts, "compensation gets attempts of its own")
			require.Equal(t, now.Add(testPolicy.StepTimeout), s.Deadline)
			if tt.voidID != "" {
				require.Equal(t, tt.voidID, ofType[messages.VoidPayment](d.Commands)[0].ID)
			}
			if fail := ofType[messages.FailOrder](d.Commands); len(fail) > 0 {
				require.Equal(t, s.Failure.Message, fail[0].Message.(messages.FailOrder).Message)
			}
		})
	}
}

func TestTimeoutWhileAuthorizingFailsTheOrderAndVoidsALateAuthorization(t *testing.T) {
	t.Parallel()
	s, first := driveTo(t, PhaseAuthorizing, twoLines()...)
	sent := slices.Clone(first)
	for range testPolicy.MaxAttempts - 1 {
		d := expire(t, s)
		require.Equal(t, first, d.Commands, "the same AuthorizePayment, same id")
		sent = append(sent, d.Commands...)
	}
	d := expire(t, s)
	sent = append(sent, d.Commands...)
	require.Equal(t, []messages.Command{voidCmd(), releaseCmd("p1"), releaseCmd("p2")}, plain(d.Commands))
	require.Equal(t, errcode.SagaTimeout, s.Failure.Code)

	sent = append(sent, play(t, s, []step{
		{released("p1"), nil, PhaseCompensating},
		{released("p2"), []messages.Command{recordReleased("SAGA_TIMEOUT"), failCmd(errcode.SagaTimeout)}, PhaseEnding},
		{failed(), nil, PhaseDone},
	})...)
	require.Equal(t, OutcomeFailed, s.Outcome)
	require.Empty(t, ofType[messages.CompleteOrderCancellation](sent))
	require.Len(t, ofType[messages.FailOrder](sent), 1)

	// The payment provider answers after all: the hold must be given back,
	// with an id the payments inbox has not seen (the earlier void found
	// nothing to void and is recorded there as handled).
	late := run(t, s, authorized())
	require.Equal(t, []messages.Command{voidCmd()}, plain(late))
	require.NotContains(t, ids(ofType[messages.VoidPayment](sent)), late[0].ID)
	require.Equal(t, PartDone, s.Payment)
	require.Equal(t, PhaseDone, s.Phase)
	require.True(t, s.Deadline.IsZero())

	require.Empty(t, run(t, s, voided()))
	require.Equal(t, PartUndone, s.Payment)
	require.Equal(t, PhaseDone, s.Phase)
	require.Equal(t, OutcomeFailed, s.Outcome)
}

func TestTimeoutDuringCompensationParks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prepare func(t *testing.T) (*State, []Command)
		// undone: nothing was left to undo when it parked, only the
		// order's end was missing.
		undone bool
	}{
		{"COMPENSATING waiting for the void", func(t *testing.T) (*State, []Command) {
			s, _ := driveTo(t, PhaseConfirming, twoLines()...)
			return s, run(t, s, cancelRequested())
		}, false},
		{"COMPENSATING waiting for a release", func(t *testing.T) (*State, []Command) {
			s, _ := driveTo(t, PhaseConfirming, twoLines()...)
			run(t, s, cancelRequested())
			return s, run(t, s, voided())[1:] // without the record
		}, false},
		{"ENDING waiting for the cancellation", func(t *testing.T) (*State, []Command) {
			s, _ := start(t, twoLines()...)
			return s, run(t, s, outOfStock("p1"))
		}, true},
		{"ENDING of a timed-out saga waiting for FailOrder", func(t *testing.T) (*State, []Command) {
			s, _ := start(t, twoLines()...)
			var d Decision
			for s.Phase == PhaseReserving {
				d = expire(t, s)
			}
			return s, d.Commands
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, outstanding := tt.prepare(t)
			phase := s.Phase
			for range testPolicy.MaxAttempts - 1 {
				d := expire(t, s)
				require.Equal(t, outstanding, d.Commands)
				require.Equal(t, phase, s.Phase)
			}
			now := s.Deadline
			d := s.OnDeadline(now, testPolicy, noJitter)
			require.True(t, d.Finished)
			require.Equal(t, PhaseParked, s.Phase)
			require.Equal(t, OutcomeParked, s.Outcome)
			require.Equal(t, now, s.EndedAt)
			require.True(t, s.Deadline.IsZero())
			require.False(t, s.Active())
			require.Equal(t, []messages.Command{failCmd(errcode.CompensationFailed)}, plain(d.Commands))
			require.NotContains(t, ids(outstanding), d.Commands[0].ID,
				"FailOrder(COMPENSATION_FAILED) is a different command from anything sent before and needs its own id")

			// Parked is final for deadlines. The order's answer to the
			// park's FailOrder is kept: a saga that had undone everything
			// and only missed the order's end is done with it; one that
			// still holds something stays parked for the operator.
			require.Empty(t, s.OnDeadline(now.Add(time.Hour), testPolicy, noJitter))
			d = s.Handle(messages.OrderFailed{OrderID: testOrder, Code: errcode.CompensationFailed, At: t0}, now, testPolicy, noJitter)
			require.Empty(t, d.Commands)
			require.Equal(t, messages.StatusFailed, s.OrderEnded)
			if !tt.undone {
				require.False(t, d.Finished)
				require.Equal(t, PhaseParked, s.Phase)
				require.Empty(t, run(t, s, cancelled(), failed()))
				require.Equal(t, PhaseParked, s.Phase)
				return
			}
			require.True(t, d.Finished)
			require.True(t, d.Counted, "counted when it parked")
			require.Equal(t, PhaseDone, s.Phase)
			require.Equal(t, OutcomeFailed, s.Outcome)
		})
	}
}

func TestTimeoutWhileSettlingParksWithoutUndoingTheSale(t *testing.T) {
	t.Parallel()
	s, settle := driveTo(t, PhaseSettling, twoLines()...)
	var sent []Command
	for range testPolicy.MaxAttempts - 1 {
		d := expire(t, s)
		require.Equal(t, settle, d.Commands)
		sent = append(sent, d.Commands...)
	}
	d := expire(t, s)
	sent = append(sent, d.Commands...)
	require.True(t, d.Finished)
	require.Empty(t, d.Commands)
	require.Equal(t, PhaseParked, s.Phase)
	require.Equal(t, OutcomeParked, s.Outcome)
	require.Nil(t, s.Failure)

	// Late settlement answers are recorded, and nothing is ever undone;
	// the last one finishes the sale.
	sent = append(sent, run(t, s, committed("p1"), captured())...)
	require.Equal(t, PhaseParked, s.Phase)
	d = s.Handle(committed("p2"), t0, testPolicy, noJitter)
	sent = append(sent, d.Commands...)
	require.Empty(t, ofType[messages.ReleaseStock](sent))
	require.Empty(t, ofType[messages.VoidPayment](sent))
	require.Empty(t, ofType[messages.FailOrder](sent))
	require.Equal(t, PartSettled, s.Payment)
	require.True(t, d.Finished)
	require.True(t, d.Counted)
	require.Equal(t, PhaseDone, s.Phase)
	require.Equal(t, OutcomeConfirmed, s.Outcome)
}

func TestParkedWhileSettlingNeverUndoesARedeliveredReply(t *testing.T) {
	t.Parallel()
	// The sale is confirmed but commit and capture never answered: an
	// operator takes over. A redelivered reservation or authorization must
	// not release the stock or void the hold of the confirmed order.
	s, _ := driveTo(t, PhaseSettling, twoLines()...)
	for s.Phase == PhaseSettling {
		expire(t, s)
	}
	require.Equal(t, PhaseParked, s.Phase)
	before := clone(s)
	require.Empty(t, run(t, s, reserved("p1"), reserved("p2"), authorized()))
	require.Equal(t, before, clone(s))
}

// ---------------------------------------------------------------------------
// Duplicates, stale and late replies
// ---------------------------------------------------------------------------

// action is one input of a script: an event, or the deadline passing.
type action struct {
	event    messages.Event
	deadline bool
}

func ev(events ...messages.Event) []action {
	out := make([]action, len(events))
	for i, e := range events {
		out[i] = action{event: e}
	}
	return out
}

func deadlines(n int) []action { return slices.Repeat([]action{{deadline: true}}, n) }

type script struct {
	name    string
	items   []messages.OrderLine
	actions []action
}

func scripts() []script {
	lines := twoLines()
	toAuthorized := ev(reserved("p2"), reserved("p1"), stepDone(messages.StepInventoryReserved), authorized())
	return []script{
		{"happy path", lines, ev(reserved("p2"), reserved("p1"), stepDone(messages.StepInventoryReserved), authorized(),
			stepDone(messages.StepPaymentAuthorized), confirmed(), committed("p1"), captured(), committed("p2"))},
		{"out of stock", lines, ev(reserved("p1"), outOfStock("p2"), released("p1"), cancelled())},
		{"insufficient funds", lines, ev(reserved("p1"), reserved("p2"), stepDone(messages.StepInventoryReserved), refused(),
			released("p1"), released("p2"), cancelled())},
		{"cancelled while marking authorized", lines, append(toAuthorized,
			ev(cancelRequested(), voided(), released("p1"), released("p2"), cancelled())...)},
		{"cancelled while authorizing, authorization lands late", lines, ev(reserved("p2"), reserved("p1"),
			stepDone(messages.StepInventoryReserved), cancelRequested(), released("p1"), released("p2"), cancelled(), authorized(), voided())},
		{"timeout while authorizing, authorization lands late", lines, slices.Concat(
			ev(reserved("p1"), reserved("p2"), stepDone(messages.StepInventoryReserved)),
			deadlines(testPolicy.MaxAttempts),
			ev(released("p1"), authorized(), released("p2"), voided(), failed()))},
		{"compensation times out", lines, slices.Concat(toAuthorized, ev(cancelRequested()),
			deadlines(testPolicy.MaxAttempts), ev(voided()))},
		{"settling times out", lines, slices.Concat(toAuthorized, ev(stepDone(messages.StepPaymentAuthorized), confirmed(), committed("p1")),
			deadlines(testPolicy.MaxAttempts), ev(captured(), committed("p2")))},
		{"sibling rejected, pending line reserved late", []messages.OrderLine{item("p1", 1), item("p2", 2), item("p3", 3)},
			ev(reserved("p1"), outOfStock("p2"), reserved("p3"), released("p1"), released("p3"), cancelled())},
		{"sibling rejected, pending line reserved after the end", []messages.OrderLine{item("p1", 1), item("p2", 2), item("p3", 3)},
			ev(reserved("p1"), outOfStock("p2"), released("p1"), cancelled(), reserved("p3"), released("p3"))},
	}
}

// execution is a saga run by a script on a clock that only moves forward:
// events arrive at the current time, a deadline moves the clock to itself.
type execution struct {
	s        *State
	now      time.Time
	sent     []Command
	sentByID map[string]messages.Command
}

func execute(t *testing.T, items []messages.OrderLine) *execution {
	t.Helper()
	s, cmds := start(t, items...)
	x := &execution{s: s, now: t0, sentByID: map[string]messages.Command{}}
	x.record(t, cmds)
	return x
}

func (x *execution) record(t *testing.T, cmds []Command) {
	t.Helper()
	for _, c := range cmds {
		if prev, ok := x.sentByID[c.ID]; ok {
			require.Equal(t, prev, c.Message, "id %s names two different commands", c.ID)
		}
		x.sentByID[c.ID] = c.Message
	}
	x.sent = append(x.sent, cmds...)
}

func (x *execution) do(t *testing.T, a action) []Command {
	t.Helper()
	var d Decision
	if a.deadline {
		if !x.s.Active() {
			return nil
		}
		x.now = x.s.Deadline
		d = x.s.OnDeadline(x.now, testPolicy, noJitter)
	} else {
		d = x.s.Handle(a.event, x.now, testPolicy, noJitter)
	}
	x.record(t, d.Commands)
	return d.Commands
}

func TestEveryEventDeliveredTwice(t *testing.T) {
	t.Parallel()
	for _, sc := range scripts() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			once := execute(t, sc.items)
			for _, a := range sc.actions {
				once.do(t, a)
			}

			twice := execute(t, sc.items)
			for i, a := range sc.actions {
				twice.do(t, a)
				if a.deadline {
					continue
				}
				known := idSet(twice.sent)
				before := clone(twice.s)
				again := twice.do(t, a)
				for _, c := range again {
					require.Contains(t, known, c.ID, "action %d: the duplicate %T sent a new command %T", i, a.event, c.Message)
				}
				if len(again) == 0 {
					require.Equal(t, before, clone(twice.s), "action %d: the duplicate %T changed the state", i, a.event)
				}
			}

			require.Equal(t, clone(once.s), clone(twice.s), "same final state")
			require.ElementsMatch(t, keys(once.sentByID), keys(twice.sentByID), "same commands")
		})
	}
}

func TestRedeliveryAfterTheEndChangesNothing(t *testing.T) {
	t.Parallel()
	for _, sc := range scripts() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			x := execute(t, sc.items)
			for _, a := range sc.actions {
				x.do(t, a)
			}
			require.False(t, x.s.Active(), "the script ends the saga")
			final := clone(x.s)
			known := idSet(x.sent)
			for _, a := range sc.actions {
				if a.deadline {
					continue
				}
				for _, c := range x.do(t, a) {
					require.Contains(t, known, c.ID, "redelivered %T sent a new command %T", a.event, c.Message)
				}
			}
			require.Equal(t, final, clone(x.s), "the state is unchanged")
		})
	}
}

func idSet(cmds []Command) map[string]bool {
	m := map[string]bool{}
	for _, c := range cmds {
		m[c.ID] = true
	}
	return m
}

func keys(m map[string]messages.Command) []string {
	return slices.Collect(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	})
}

func TestStaleRepliesHaveNoEffect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		phase Phase
		event messages.Event
	}{
		{"reservation of an unknown product", PhaseReserving, reserved("p9")},
		{"refusal of an unknown product", PhaseReserving, outOfStock("p9")},
		{"release of an unknown product", PhaseReserving, released("p9")},
		{"reservation of an unknown product while compensating", PhaseCompensating, reserved("p9")},
		{"payment authorized while reserving", PhaseReserving, authorized()},
		{"payment refused while reserving", PhaseReserving, refused()},
		{"payment authorized twice", PhaseConfirming, authorized()},
		{"payment refused after it was authorized", PhaseConfirming, refused()},
		{"reservation while authorizing", PhaseAuthorizing, reserved("p1")},
		{"refusal after the line was reserved", PhaseAuthorizing, outOfStock("p1")},
		{"step not awaited: PAYMENT_AUTHORIZED while authorizing", PhaseAuthorizing, stepDone(messages.StepPaymentAuthorized)},
		{"step already recorded: PAYMENT_AUTHORIZED while confirming", PhaseConfirming, stepDone(messages.StepPaymentAuthorized)},
		{"step not awaited: PAYMENT_AUTHORIZED while reserving", PhaseReserving, stepDone(messages.StepPaymentAuthorized)},
		{"step already recorded: INVENTORY_RESERVED while authorizing", PhaseAuthorizing, stepDone(messages.StepInventoryReserved)},
		{"step already recorded: INVENTORY_RESERVED while confirming", PhaseConfirming, stepDone(messages.StepInventoryReserved)},
		{"confirmation while authorizing", PhaseAuthorizing, confirmed()},
		{"confirmation twice", PhaseSettling, confirmed()},
		{"order cancelled while not ending", PhaseConfirming, cancelled()},
		{"order failed while not ending", PhaseConfirming, failed()},
		{"event of another context", PhaseReserving, messages.ProductRestocked{ProductID: "p1", Quantity: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s *State
			if tt.phase == PhaseCompensating {
				s, _ = driveTo(t, PhaseConfirming, twoLines()...)
				run(t, s, cancelRequested())
			} else {
				s, _ = driveTo(t, tt.phase, twoLines()...)
			}
			require.Equal(t, tt.phase, s.Phase)
			before := clone(s)
			d := s.Handle(tt.event, t0.Add(time.Minute), testPolicy, noJitter)
			require.Empty(t, d.Commands)
			require.False(t, d.Finished)
			require.Equal(t, before, clone(s), "no effect, not even on the deadline")
		})
	}
}

func TestLateReservationOfAPendingLineIsReleased(t *testing.T) {
	t.Parallel()
	items := []messages.OrderLine{item("p1", 1), item("p2", 2), item("p3", 3)}
	tests := []struct {
		name  string
		steps []step
	}{
		{"during compensation", []step{
			{reserved("p1"), nil, PhaseReserving},
			{outOfStock("p2"), []messages.Command{releaseCmd("p1")}, PhaseCompensating},
			{reserved("p3"), []messages.Command{releaseCmd("p3")}, PhaseCompensating},
			{released("p1"), nil, PhaseCompensating}, // p3 still to be released
			{released("p3"), []messages.Command{recordReleased("INVENTORY_UNAVAILABLE"), cancelCmd(errcode.InventoryUnavailable)}, PhaseEnding},
			{cancelled(), nil, PhaseDone},
		}},
		{"while ending", []step{
			{reserved("p1"), nil, PhaseReserving},
			{outOfStock("p2"), []messages.Command{releaseCmd("p1")}, PhaseCompensating},
			{released("p1"), []messages.Command{recordReleased("INVENTORY_UNAVAILABLE"), cancelCmd(errcode.InventoryUnavailable)}, PhaseEnding},
			{reserved("p3"), []messages.Command{releaseCmd("p3")}, PhaseEnding},
			{cancelled(), nil, PhaseDone},
			{released("p3"), nil, PhaseDone},
		}},
		{"after the end", []step{
			{reserved("p1"), nil, PhaseReserving},
			{outOfStock("p2"), []messages.Command{releaseCmd("p1")}, PhaseCompensating},
			{released("p1"), []messages.Command{recordReleased("INVENTORY_UNAVAILABLE"), cancelCmd(errcode.InventoryUnavailable)}, PhaseEnding},
			{cancelled(), nil, PhaseDone},
			{reserved("p3"), []messages.Command{releaseCmd("p3")}, PhaseDone},
			{released("p3"), nil, PhaseDone},
		}},
		{"nothing reserved before the refusal", []step{
			{outOfStock("p2"), []messages.Command{cancelCmd(errcode.InventoryUnavailable)}, PhaseEnding},
			{reserved("p1"), []messages.Command{releaseCmd("p1")}, PhaseEnding},
			{outOfStock("p3"), nil, PhaseEnding},
			{cancelled(), nil, PhaseDone},
			{released("p1"), nil, PhaseDone},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, first := start(t, items...)
			sent := slices.Concat(first, play(t, s, tt.steps))
			releases := ofType[messages.ReleaseStock](sent)
			require.Equal(t, len(slices.Compact(slices.Sorted(slices.Values(ids(releases))))), len(releases), "each release has its own id")
			for _, l := range s.Lines {
				require.NotEqual(t, PartDone, l.State, "line %s still reserved", l.ProductID)
				require.NotEqual(t, PartPending, l.State, "line %s never answered", l.ProductID)
			}
			require.Equal(t, OutcomeCancelled, s.Outcome)
			require.Empty(t, ofType[messages.AuthorizePayment](sent))
		})
	}
}

func TestLateAuthorizationIsVoided(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		steps []step
	}{
		{"during compensation", []step{
			{cancelRequested(), []messages.Command{voidCmd(), releaseCmd("p1"), releaseCmd("p2")}, PhaseCompensating},
			{authorized(), []messages.Command{voidCmd()}, PhaseCompensating},
			{released("p1"), nil, PhaseCompensating},
			{released("p2"), nil, PhaseCompensating}, // waits for the void now
			{voided(), []messages.Command{recordVoided(byCustomer), recordReleased(byCustomer), cancelCmd("")}, PhaseEnding},
			{cancelled(), nil, PhaseDone},
		}},
		{"while ending", []step{
			{cancelRequested(), []messages.Command{voidCmd(), releaseCmd("p1"), releaseCmd("p2")}, PhaseCompensating},
			{released("p1"), nil, PhaseCompensating},
			{released("p2"), []messages.Command{recordReleased(byCustomer), cancelCmd("")}, PhaseEnding},
			{authorized(), []messages.Command{voidCmd()}, PhaseEnding},
			{cancelled(), nil, PhaseDone},
			{voided(), nil, PhaseDone},
		}},
		{"a late refusal is only noted", []step{
			{cancelRequested(), []messages.Command{voidCmd(), releaseCmd("p1"), releaseCmd("p2")}, PhaseCompensating},
			{refused(), nil, PhaseCompensating},
			{released("p1"), nil, PhaseCompensating},
			{released("p2"), []messages.Command{recordReleased(byCustomer), cancelCmd("")}, PhaseEnding},
			{cancelled(), nil, PhaseDone},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := driveTo(t, PhaseAuthorizing, twoLines()...)
			sent := play(t, s, tt.steps)
			voids := ofType[messages.VoidPayment](sent)
			require.NotEmpty(t, voids)
			require.Equal(t, id("void:pending"), voids[0].ID)
			if len(voids) > 1 {
				require.Equal(t, id("void:authorized"), voids[1].ID, "a fresh id: the blind void may have been handled before the authorization")
			}
			require.NotEqual(t, PartDone, s.Payment)
			require.Equal(t, OutcomeCancelled, s.Outcome)
		})
	}
}

func TestStateSurvivesPersistenceBetweenEvents(t *testing.T) {
	t.Parallel()
	for _, sc := range scripts() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			direct := execute(t, sc.items)
			stored := execute(t, sc.items)
			for i, a := range sc.actions {
				// Persist and load the state, as the saga store does.
				data, err := json.Marshal(stored.s)
				require.NoError(t, err)
				var loaded State
				require.NoError(t, json.Unmarshal(data, &loaded))
				require.Equal(t, clone(stored.s), clone(&loaded), "action %d: round trip", i)
				stored.s = &loaded

				require.Equal(t, direct.do(t, a), stored.do(t, a), "action %d", i)
			}
			require.Equal(t, clone(direct.s), clone(stored.s))
		})
	}
}

// ---------------------------------------------------------------------------
// Property test against the real aggregates
// ---------------------------------------------------------------------------

// world runs one order's saga against the real Order, Product and Customer
// aggregates, with the command handlers' inbox (one handling per handler and
// message id) and a transport that reorders freely: commands are handled in
// any order, events of one aggregate arrive in stream order but interleave
// arbitrarily with other aggregates' events, any event may be delivered
// again later, deadlines fire at random moments, and the customer may ask to
// cancel at any moment.
type world struct {
	t      *testing.T
	rng    *rand.Rand
	policy Policy
	clock  time.Time

	order    *ordering.Order
	products []*inventory.Product
	customer *payments.Customer
	items    []messages.OrderLine

	inbox     map[string]bool
	inflight  []Command
	pending   []messages.Event // published, not yet delivered to the saga
	delivered []messages.Event
	refusals  []string

	s        *State
	sent     []Command
	sentByID map[string]messages.Command
	// doneSince is, per line and for the payment ("$"), the length of sent
	// when the saga last moved that part to DONE.
	doneSince map[string]int
	// lateHolds counts the steps after which a finished, not confirmed
	// saga held a reservation or an authorization it was undoing.
	lateHolds int
	// parked is what the saga was doing when it first parked (settling,
	// compensating), empty if it never parked.
	parked  string
	cancels bool // the customer may ask to cancel
	// confirmRace sends ConfirmOrder over the transport rather than in the
	// saga's transaction, and lets deadlines fire in CONFIRMING while the
	// confirmation is decided or on its way; see
	// TestTimeoutWhileConfirmingNeverUndoesAConfirmedSale.
	confirmRace bool
	// legacy is set when the saga was loaded from a row of the earlier
	// version (see legacyWorld).
	legacy bool
}

// worldSpec is what a world starts with.
type worldSpec struct {
	items  []messages.OrderLine
	stocks []int // per item
	credit money.Amount
	policy Policy
	// cancels lets the customer ask to cancel at a random moment.
	cancels bool
}

// randomSpec orders one to three products; stock and credit are sometimes
// too low, so reservations and payments are sometimes refused.
func randomSpec(rng *rand.Rand) worldSpec {
	var spec worldSpec
	for i := range 1 + rng.IntN(3) {
		qty := 1 + rng.IntN(3)
		stock := qty + rng.IntN(3)
		if rng.IntN(6) == 0 {
			stock = rng.IntN(qty)
		}
		spec.items = append(spec.items, item(fmt.Sprintf("p%d", i+1), qty))
		spec.stocks = append(spec.stocks, stock)
	}
	spec.credit = total(spec.items) + money.Amount(rng.IntN(100))
	if rng.IntN(5) == 0 {
		spec.credit = money.Amount(rng.IntN(int(spec.credit)))
	}
	spec.policy = Policy{StepTimeout: time.Second, MaxAttempts: 2 + rng.IntN(3), MaxBackoff: 4 * time.Second}
	spec.cancels = rng.IntN(3) == 0
	return spec
}

func newWorld(t *testing.T, rng *rand.Rand, spec worldSpec, confirmRace bool) *world {
	t.Helper()
	w := &world{
		t: t, rng: rng, clock: t0, confirmRace: confirmRace, cancels: spec.cancels,
		policy:    spec.policy,
		items:     spec.items,
		order:     &ordering.Order{},
		customer:  &payments.Customer{},
		inbox:     map[string]bool{},
		sentByID:  map[string]messages.Command{},
		doneSince: map[string]int{},
	}
	for i, it := range spec.items {
		p := &inventory.Product{}
		w.apply(p, must(t)(p.Create(messages.CreateProduct{ProductID: it.ProductID, SKU: it.SKU, Name: it.ProductName, Price: it.UnitPrice, InitialStock: spec.stocks[i]})))
		w.products = append(w.products, p)
	}
	w.apply(w.customer, must(t)(w.customer.Register(messages.RegisterCustomer{CustomerID: testCustomer, Email: "c@example.com", Name: "C", InitialCredit: spec.credit})))
	addr := messages.Address{Street: "1 Main St", City: "Springfield", Zip: "12345", Country: "US"}
	events := must(t)(w.order.Place(messages.PlaceOrder{OrderID: testOrder, CustomerID: testCustomer, Items: spec.items,
		ShippingAddress: addr, PaymentMethod: messages.PaymentMethod{Type: "card", Token: "4242424242424242"}, IdempotencyKey: "k"}, t0))
	w.apply(w.order, events)

	s, d := Start(events[0].(messages.OrderPlaced), w.clock, w.policy, noJitter)
	w.s = s
	w.record(d.Commands)
	w.check()
	return w
}

func must(t *testing.T) func([]messages.Event, error) []messages.Event {
	return func(events []messages.Event, err error) []messages.Event {
		t.Helper()
		require.NoError(t, err)
		return events
	}
}

func (w *world) apply(agg interface{ Apply(messages.Event) }, events []messages.Event) {
	for _, e := range events {
		agg.Apply(e)
	}
}

func (w *world) product(id string) *inventory.Product {
	for _, p := range w.products {
		if p.ID() == id {
			return p
		}
	}
	w.t.Fatalf("unknown product %s", id)
	return nil
}

// handleCommand is a command handler behind its inbox. The events it
// appends go on the transport, except an order command's, which it returns
// (see record).
func (w *world) handleCommand(c Command) []messages.Event {
	key := c.Message.CommandName() + "\x00" + c.ID
	if w.inbox[key] {
		return nil
	}
	w.inbox[key] = true
	var (
		agg    interface{ Apply(messages.Event) }
		events []messages.Event
		err    error
	)
	switch m := c.Message.(type) {
	case messages.ReserveStock:
		p := w.product(m.ProductID)
		agg = p
		events, err = p.Reserve(m.OrderID, m.Quantity)
	case messages.ReleaseStock:
		p := w.product(m.ProductID)
		agg = p
		events, err = p.Release(m.OrderID)
	case messages.CommitStock:
		p := w.product(m.ProductID)
		agg = p
		events, err = p.Commit(m.OrderID)
	case messages.AuthorizePayment:
		agg = w.customer
		events, err = w.customer.Authorize(m.OrderID, m.Amount)
	case messages.VoidPayment:
		agg = w.customer
		events, err = w.customer.Void(m.OrderID)
	case messages.CapturePayment:
		agg = w.customer
		events, err = w.customer.Capture(m.OrderID)
	case messages.MarkOrderStep:
		agg = w.order
		events, err = w.order.CompleteStep(m.Step, w.clock)
	case messages.ConfirmOrder:
		agg = w.order
		events, err = w.order.Confirm(w.clock)
	case messages.RecordOrderCompensation:
		agg = w.order
		events, err = w.order.RecordCompensation(m.Step, m.Action, m.Reason, w.clock)
	case messages.CompleteOrderCancellation:
		agg = w.order
		events, err = w.order.Cancel(m.Code, m.Message, w.clock)
	case messages.FailOrder:
		agg = w.order
		events, err = w.order.Fail(m.Code, m.Message, w.clock)
	case messages.CancelOrder:
		agg = w.order
		events, err = w.order.RequestCancellation(m.Reason, m.RequestedBy, w.clock)
	default:
		w.t.Fatalf("the saga sent an unexpected command %T", c.Message)
	}
	var refusal *errcode.Error
	if err != nil {
		require.True(w.t, errors.As(err, &refusal), "%T: %v", c.Message, err)
		w.refusals = append(w.refusals, fmt.Sprintf("%s: %v", c.Message.CommandName(), err))
		return nil
	}
	w.apply(agg, events)
	if w.local(c) {
		return events
	}
	w.pending = append(w.pending, events...)
	return nil
}

func (w *world) requestCancellation() {
	events, err := w.order.RequestCancellation("changed my mind", testCustomer, w.clock)
	if err != nil { // the order is confirmed already
		return
	}
	w.apply(w.order, events)
	w.pending = append(w.pending, events...)
}

// deliverNext delivers the oldest undelivered event of a random stream.
func (w *world) deliverNext() {
	var streams []string
	for _, e := range w.pending {
		if !slices.Contains(streams, e.AggregateID()) {
			streams = append(streams, e.AggregateID())
		}
	}
	stream := streams[w.rng.IntN(len(streams))]
	i := slices.IndexFunc(w.pending, func(e messages.Event) bool { return e.AggregateID() == stream })
	e := w.pending[i]
	w.pending = slices.Delete(w.pending, i, i+1)
	w.deliver(e)
}

func (w *world) deliver(e messages.Event) {
	before := clone(w.s)
	d := w.s.Handle(e, w.clock, w.policy, noJitter)
	w.delivered = append(w.delivered, e)
	w.noteDone(before)
	w.record(d.Commands)
	w.check()
}

func (w *world) deadline() {
	before := clone(w.s)
	if w.s.Deadline.After(w.clock) {
		w.clock = w.s.Deadline
	}
	d := w.s.OnDeadline(w.clock, w.policy, noJitter)
	w.noteDone(before)
	w.record(d.Commands)
	if w.s.Phase == PhaseParked && w.parked == "" {
		w.parked = "compensating"
		if w.s.Failure == nil {
			w.parked = "settling"
		}
	}
	w.check()
}

// redrive is the operator's re-drive of the saga.
func (w *world) redrive() {
	before := clone(w.s)
	d, err := w.s.Redrive(w.clock, w.policy, noJitter, fmt.Sprint("redrive-", len(w.s.Redrives)))
	require.NoError(w.t, err)
	w.noteDone(before)
	w.record(d.Commands)
	w.check()
}

func (w *world) noteDone(before State) {
	for i, l := range w.s.Lines {
		if l.State == PartDone && before.Lines[i].State != PartDone {
			w.doneSince[l.ProductID] = len(w.sent)
		}
	}
	if w.s.Payment == PartDone && before.Payment != PartDone {
		w.doneSince["$"] = len(w.sent)
	}
}

// record takes a decision's commands as the processor does (runLocal):
// those on the order are handled at once, as in the saga's transaction,
// and the events they append are applied to the saga there and then
// (which may decide more commands); the other contexts' go on the
// transport. The order's events may still be redelivered later, as from
// Kafka.
func (w *world) record(cmds []Command) {
	for len(cmds) > 0 {
		var next []Command
		for _, c := range cmds {
			if prev, ok := w.sentByID[c.ID]; ok {
				require.Equal(w.t, prev, c.Message, "id %s names two different commands", c.ID)
			}
			w.sentByID[c.ID] = c.Message
			w.sent = append(w.sent, c)
			if !w.local(c) {
				w.inflight = append(w.inflight, c)
				continue
			}
			for _, e := range w.handleCommand(c) {
				before := clone(w.s)
				d := w.s.Handle(e, w.clock, w.policy, noJitter)
				w.delivered = append(w.delivered, e)
				w.noteDone(before)
				next = append(next, d.Commands...)
			}
		}
		cmds = next
	}
}

// local reports whether the processor runs c in the saga's transaction
// (the orders' commands, see LocalCommands). With confirmRace the world
// makes ConfirmOrder travel like the other contexts' commands: the saga
// must not undo a sale whose confirmation it learns of late.
func (w *world) local(c Command) bool {
	switch c.Message.(type) {
	case messages.ConfirmOrder:
		return !w.confirmRace
	case messages.MarkOrderStep, messages.CancelOrder, messages.RecordOrderCompensation,
		messages.CompleteOrderCancellation, messages.FailOrder:
		return true
	}
	return false
}

// confirmationInFlight reports whether the order decided, or is about to
// decide, on a confirmation.
func (w *world) confirmationInFlight() bool {
	return w.order.Status() == messages.StatusConfirmed ||
		slices.ContainsFunc(w.inflight, func(c Command) bool { _, ok := c.Message.(messages.ConfirmOrder); return ok })
}

// check holds after every step.
func (w *world) check() {
	t, s := w.t, w.s
	t.Helper()
	require.Equal(t, s.Active(), !s.Deadline.IsZero(), "a deadline is armed exactly while the saga is active")
	steps := w.order.CompletedSteps()
	if w.confirmRace && !s.confirmed() && slices.Contains(steps, messages.StepOrderConfirmed) {
		steps = steps[:len(steps)-1] // OrderConfirmed is on its way
	}
	if w.legacy && len(s.CompletedSteps()) == len(steps)+1 {
		steps = s.CompletedSteps()[:len(steps)+1] // see legacyWorld
	}
	require.Equal(t, steps, s.CompletedSteps(), "the saga's steps are the order's")
	if s.Phase == PhaseDone && s.Outcome == OutcomeConfirmed {
		require.Equal(t, PartSettled, s.Payment)
		for _, l := range s.Lines {
			require.Equal(t, PartSettled, l.State)
		}
	}
	if s.Phase == PhaseDone && s.Outcome != OutcomeConfirmed {
		if s.Payment == PartDone || s.anyLine(PartDone) {
			w.lateHolds++
		}
		for _, l := range s.Lines {
			if l.State == PartDone {
				since := w.doneSince[l.ProductID]
				require.True(t, slices.ContainsFunc(w.sent[since:], func(c Command) bool { return c.Message == releaseCmd(l.ProductID) }),
					"finished saga holds line %s reserved without releasing it", l.ProductID)
			}
		}
		if s.Payment == PartDone {
			require.True(t, slices.ContainsFunc(w.sent[w.doneSince["$"]:], func(c Command) bool { return c.Message == voidCmd() }),
				"finished saga holds the payment authorized without voiding it")
		}
	}
}

func (w *world) step() {
	type move struct {
		weight int
		do     func()
	}
	moves := []move{
		{8, nil}, // handle a command
		{8, nil}, // deliver an event
		{1, nil}, // redeliver an old event
		{2, nil}, // deadline
		{1, nil}, // customer cancels
		{1, nil}, // a compensation is lost (acknowledged, never handled)
	}
	if len(w.inflight) > 0 {
		moves[0].do = func() {
			i := w.rng.IntN(len(w.inflight))
			c := w.inflight[i]
			w.inflight = slices.Delete(w.inflight, i, i+1)
			w.handleCommand(c)
		}
	}
	if len(w.pending) > 0 {
		moves[1].do = w.deliverNext
	}
	if len(w.delivered) > 0 {
		moves[2].do = func() { w.deliver(w.delivered[w.rng.IntN(len(w.delivered))]) }
	}
	if w.s.Active() && (w.confirmRace || w.s.Phase != PhaseConfirming || !w.confirmationInFlight()) {
		moves[3].do = w.deadline
	}
	if w.cancels && !w.order.CancellationRequested() {
		moves[4].do = w.requestCancellation
	}
	// Only while the saga compensates: its deadlines send again what it
	// waits on, and once they give up the operator re-drives it. (A lost
	// command of a finished saga is the reconciler's to find.)
	if i := slices.IndexFunc(w.inflight, isCompensation); i >= 0 && w.s.Phase == PhaseCompensating {
		moves[5].do = func() { w.inflight = slices.Delete(w.inflight, i, i+1) }
	}
	sum := 0
	for _, m := range moves {
		if m.do != nil {
			sum += m.weight
		}
	}
	if sum == 0 {
		return
	}
	n := w.rng.IntN(sum)
	for _, m := range moves {
		if m.do == nil {
			continue
		}
		if n < m.weight {
			w.clock = w.clock.Add(time.Duration(w.rng.IntN(300)) * time.Millisecond)
			m.do()
			return
		}
		n -= m.weight
	}
}

func isCompensation(c Command) bool {
	switch c.Message.(type) {
	case messages.ReleaseStock, messages.VoidPayment:
		return true
	}
	return false
}

// drain lets the world settle: every command is handled and every event
// delivered, and deadlines fire only when nothing else is left.
func (w *world) drain() {
	for range 10000 {
		switch {
		case len(w.inflight) > 0:
			c := w.inflight[0]
			w.inflight = w.inflight[1:]
			w.handleCommand(c)
		case len(w.pending) > 0:
			w.deliverNext()
		case w.s.Active():
			w.deadline()
		default:
			return
		}
	}
	w.t.Fatal("the saga never came to rest")
}

// TestPropertyRandomInterleavings drives many sagas through random but
// reproducible (fixed seeds) interleavings against the real aggregates and
// their inbox: random stock and balance (so reservations and payments are
// sometimes refused), commands handled in any order, events of different
// aggregates interleaved, old events redelivered, deadlines firing early,
// and a customer cancellation at a random moment.
//
// Because a reservation or an authorization can always be answered after
// the saga gave up, "the saga is DONE and still holds stock or money" is not
// impossible: a finished saga can learn of a late StockReserved or
// PaymentAuthorized. What holds is:
//
//  1. after every step: a saga DONE with outcome confirmed has every line and
//     the payment SETTLED; a saga DONE with any other outcome may have a line
//     or the payment in state DONE only if it sent ReleaseStock or VoidPayment
//     for it after it learned of it (the state is transient, never final);
//     a deadline is armed exactly while the saga is active; Completed is a
//     prefix of the saga's steps; one command id never names two different
//     commands;
//  2. once every command is handled, every event delivered and the deadlines
//     have run out, the saga is DONE or PARKED, and
//     - DONE confirmed: the order is CONFIRMED, every line committed and the
//     payment captured, nothing held;
//     - DONE cancelled or failed: the order is CANCELLED or FAILED to match,
//     nothing reserved, held, committed or captured for the order, and no
//     line or payment of the saga is DONE;
//     - PARKED while settling: the order is CONFIRMED and nothing of it was
//     undone;
//     - PARKED while compensating: the order is not confirmed and nothing was
//     committed or captured (what is still held is the operator's to undo).
//
// The commands on the order run as the processor runs them, in the saga's
// transaction (see world.record), so the saga's completed steps are always
// the order's. In every other run ConfirmOrder travels instead like the
// other contexts' commands, and deadlines fire at any time, also while the
// saga waits in CONFIRMING for a confirmation the order has made or is
// about to make (see TestTimeoutWhileConfirmingNeverUndoesAConfirmedSale).
func TestPropertyRandomInterleavings(t *testing.T) {
	t.Parallel()
	outcomes := map[string]int{}
	lateHolds := 0
	for seed := range uint64(1000) {
		rng := rand.New(rand.NewPCG(seed, 0x5a6a))
		w := newWorld(t, rng, randomSpec(rng), seed%2 == 1)
		steps := 20 + rng.IntN(120)
		for range steps {
			w.step()
		}
		w.drain()
		end := checkQuiescent(t, w, seed)
		outcomes[end]++
		if w.parked != "" {
			outcomes["parked "+w.parked]++
		}
		if w.s.Phase == PhaseParked {
			// The operator re-drives it (sometimes twice, with answers
			// redelivered in between): it ends DONE, everything undone or
			// settled.
			w.redrive()
			for range rng.IntN(10) {
				w.step()
			}
			if rng.IntN(2) == 0 {
				if w.s.Phase == PhaseDone {
					before := clone(w.s)
					_, err := w.s.Redrive(w.clock, w.policy, noJitter, "late")
					require.ErrorIs(t, err, ErrNothingToRedrive)
					require.Equal(t, before, clone(w.s), "a re-drive of a finished saga changes nothing")
				} else {
					w.redrive()
				}
			}
			w.drain()
			end = checkQuiescent(t, w, seed)
			require.Equal(t, PhaseDone, w.s.Phase, "seed %d: a re-driven saga whose commands are all answered finishes", seed)
			outcomes["re-driven to "+end]++
		}
		lateHolds += w.lateHolds
	}
	t.Logf("outcomes: %v; steps with a finished saga still undoing a late reply: %d", outcomes, lateHolds)
	require.Positive(t, lateHolds, "no late reply after the end: the generator needs tuning")
	for _, o := range []string{"DONE confirmed", "DONE cancelled", "DONE failed", "parked settling", "parked compensating", "re-driven to DONE failed"} {
		require.Positive(t, outcomes[o], "no run ended %s: the generator needs tuning", o)
	}
}

// checkQuiescent checks the invariants of a world at rest and names the
// saga's end.
func checkQuiescent(t *testing.T, w *world, seed uint64) string {
	t.Helper()
	s := w.s
	msg := fmt.Sprintf("seed %d: saga %+v, failure %+v, order %s, refusals %q", seed, *s, s.Failure, w.order.Status(), w.refusals)
	require.Contains(t, []Phase{PhaseDone, PhaseParked}, s.Phase, msg)

	undone := func() {
		for _, p := range w.products {
			require.Zero(t, p.ReservedFor(testOrder), "%s: %s still reserved", msg, p.ID())
		}
		require.Zero(t, w.customer.HeldFor(testOrder), "%s: payment still held", msg)
	}
	notSold := func() {
		for _, p := range w.products {
			require.Zero(t, p.Committed(), "%s: %s committed", msg, p.ID())
		}
		require.Zero(t, w.customer.Captured(), "%s: payment captured", msg)
	}
	sold := func() {
		for i, p := range w.products {
			require.Equal(t, w.items[i].Quantity, p.Committed(), "%s: %s not committed", msg, p.ID())
			require.Zero(t, p.ReservedFor(testOrder), msg)
		}
		require.Equal(t, total(w.items), w.customer.Captured(), "%s: payment not captured", msg)
		require.Zero(t, w.customer.HeldFor(testOrder), msg)
	}
	for _, r := range w.refusals {
		for _, never := range []string{"CommitStock", "CapturePayment", "RecordOrderCompensation", "MarkOrderStep"} {
			require.NotContains(t, r, never, "%s: the domain refused a saga command", msg)
		}
	}

	switch {
	case s.Phase == PhaseDone && s.Outcome == OutcomeConfirmed:
		require.Equal(t, messages.StatusConfirmed, w.order.Status(), msg)
		sold()
		return "DONE confirmed"
	case s.Phase == PhaseDone:
		want := map[Outcome]messages.OrderStatus{OutcomeCancelled: messages.StatusCancelled, OutcomeFailed: messages.StatusFailed}[s.Outcome]
		require.Equal(t, want, w.order.Status(), msg)
		undone()
		notSold()
		for _, l := range s.Lines {
			require.NotEqual(t, PartDone, l.State, msg)
		}
		require.NotEqual(t, PartDone, s.Payment, msg)
		return "DONE " + string(s.Outcome)
	case s.Failure == nil:
		require.Equal(t, messages.StatusConfirmed, w.order.Status(), msg)
		sold()
		return "PARKED settling"
	default:
		require.NotEqual(t, messages.StatusConfirmed, w.order.Status(), msg)
		notSold()
		return "PARKED compensating"
	}
}

// ---------------------------------------------------------------------------
// Known bugs: these tests fail against the current order_saga.go.
// ---------------------------------------------------------------------------

// In CONFIRMING the saga has sent ConfirmOrder. If the order confirms but
// OrderConfirmed reaches the saga only after the last deadline (a slow
// consumer, a retry level), the saga must not undo the sale: it asks the
// order to cancel, the order refuses (it is CONFIRMED), the saga parks, and
// the late OrderConfirmed revives it into settling the sale.
func TestTimeoutWhileConfirmingNeverUndoesAConfirmedSale(t *testing.T) {
	t.Parallel()
	w := newWorld(t, rand.New(rand.NewPCG(1, 2)), worldSpec{
		items: []messages.OrderLine{item("p1", 1)}, stocks: []int{10}, credit: 10_000, policy: testPolicy,
	}, true)

	// Forward until the saga waits for the confirmation.
	for w.s.Phase != PhaseConfirming {
		switch {
		case len(w.inflight) > 0:
			c := w.inflight[0]
			w.inflight = w.inflight[1:]
			w.handleCommand(c)
		default:
			w.deliverNext()
		}
	}
	// The order confirms; OrderConfirmed is on its way but slow.
	for len(w.inflight) > 0 {
		c := w.inflight[0]
		w.inflight = w.inflight[1:]
		w.handleCommand(c)
	}
	require.Equal(t, messages.StatusConfirmed, w.order.Status())
	for w.s.Phase == PhaseConfirming {
		w.deadline()
	}
	w.drain()
	t.Logf("order %s; saga %s (%s); stock reserved %d, committed %d; payment held %d, captured %d; refused: %q",
		w.order.Status(), w.s.Phase, w.s.Outcome, w.products[0].ReservedFor(testOrder), w.products[0].Committed(),
		w.customer.HeldFor(testOrder), w.customer.Captured(), w.refusals)

	require.Equal(t, messages.StatusConfirmed, w.order.Status())
	require.Empty(t, ofType[messages.VoidPayment](w.sent), "the saga voided the payment of a confirmed order")
	require.Empty(t, ofType[messages.ReleaseStock](w.sent), "the saga released the stock of a confirmed order")
	require.Equal(t, 1, w.products[0].Committed(), "the confirmed sale was never committed")
	require.Equal(t, PhaseDone, w.s.Phase)
	require.Equal(t, OutcomeConfirmed, w.s.Outcome)
}

// A timeout while CONFIRMING asks the order to cancel and compensates only
// once the order recorded the request, with SAGA_TIMEOUT as the reason.
func TestTimeoutWhileConfirmingCancelsFirst(t *testing.T) {
	t.Parallel()
	s, _ := driveTo(t, PhaseConfirming, twoLines()...)
	var d Decision
	for range testPolicy.MaxAttempts {
		d = expire(t, s)
	}
	require.Equal(t, PhaseConfirming, s.Phase)
	require.Equal(t, []messages.Command{messages.CancelOrder{OrderID: testOrder, Reason: string(errcode.SagaTimeout), RequestedBy: "saga"}}, plain(d.Commands))
	require.Equal(t, id("cancel:timeout"), d.Commands[0].ID)
	require.Nil(t, s.Failure, "nothing is undone before the order decided")

	cmds := run(t, s, messages.OrderCancellationRequested{OrderID: testOrder, Reason: string(errcode.SagaTimeout), By: "saga", At: t0})
	require.Equal(t, PhaseCompensating, s.Phase)
	require.Equal(t, errcode.SagaTimeout, s.Failure.Code)
	require.True(t, s.Failure.Fail)
	require.Equal(t, []messages.Command{voidCmd()}, plain(cmds))
}

// An attempt that never reached Kafka is sent again at the same backoff
// and does not use up the budget; once sent, silence counts as before.
func TestUnsentAttemptsAreNotCounted(t *testing.T) {
	t.Parallel()
	s, _ := Start(placedOrder(twoLines()...), t0, testPolicy, noJitter)
	now := t0
	for range 10 * testPolicy.MaxAttempts {
		s.Unsent = true
		now = s.Deadline
		d := s.OnDeadline(now, testPolicy, noJitter)
		require.Equal(t, PhaseReserving, s.Phase)
		require.Zero(t, s.Attempts)
		require.Len(t, d.Commands, 2, "both reservations are sent again")
		require.Equal(t, now.Add(testPolicy.StepTimeout), s.Deadline)
	}
	for range testPolicy.MaxAttempts {
		now = s.Deadline
		s.OnDeadline(now, testPolicy, noJitter)
	}
	require.Equal(t, PhaseEnding, s.Phase, "silence after sending still times out")
	require.Equal(t, errcode.SagaTimeout, s.Failure.Code)
}
