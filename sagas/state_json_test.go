package sagas

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/messages"
)

// Saga rows as the version before this one saved them (json.Marshal of
// its State, for the order of twoLines), in the states that version could
// leave a saga in and this one has no phase or field for.
const (
	// Both lines reserved, waiting for the order to record
	// INVENTORY_RESERVED; one deadline passed.
	legacyMarkingReservedJSON = `{"orderId":"order-1","customerId":"customer-1","amount":750,"lines":[{"productId":"p1","quantity":1,"state":"DONE"},{"productId":"p2","quantity":2,"state":"DONE"}],"phase":"MARKING_RESERVED","completed":["ORDER_CREATED"],"attempts":1,"deadline":"2025-03-14T09:26:56Z","startedAt":"2025-03-14T09:26:53Z"}`
	// The payment authorized, waiting for the order to record
	// PAYMENT_AUTHORIZED.
	legacyMarkingAuthorizedJSON = `{"orderId":"order-1","customerId":"customer-1","amount":750,"lines":[{"productId":"p1","quantity":1,"state":"DONE"},{"productId":"p2","quantity":2,"state":"DONE"}],"payment":"DONE","phase":"MARKING_AUTHORIZED","completed":["ORDER_CREATED","INVENTORY_RESERVED"],"attempts":0,"deadline":"2025-03-14T09:26:54Z","startedAt":"2025-03-14T09:26:53Z"}`
	// Parked while settling a confirmed order, nothing committed or
	// captured yet: its parts are those of legacyParkedConfirmingJSON, only
	// "completed" tells them apart.
	legacyParkedSettlingJSON = `{"orderId":"order-1","customerId":"customer-1","amount":750,"lines":[{"productId":"p1","quantity":1,"state":"DONE"},{"productId":"p2","quantity":2,"state":"DONE"}],"payment":"DONE","phase":"PARKED","completed":["ORDER_CREATED","INVENTORY_RESERVED","PAYMENT_AUTHORIZED","ORDER_CONFIRMED"],"attempts":3,"startedAt":"2025-03-14T09:26:53Z","endedAt":"2025-03-14T09:26:59Z","outcome":"parked","parkedAt":"2025-03-14T09:26:59Z"}`
	// Parked in CONFIRMING: the order answered neither the confirmation
	// nor the cancellation the timeout asked for.
	legacyParkedConfirmingJSON = `{"orderId":"order-1","customerId":"customer-1","amount":750,"lines":[{"productId":"p1","quantity":1,"state":"DONE"},{"productId":"p2","quantity":2,"state":"DONE"}],"payment":"DONE","phase":"PARKED","completed":["ORDER_CREATED","INVENTORY_RESERVED","PAYMENT_AUTHORIZED"],"timedOut":{"code":"SAGA_TIMEOUT","message":"no answer for the order confirmation after 3 attempts","step":"PAYMENT_AUTHORIZED","fail":true},"attempts":3,"startedAt":"2025-03-14T09:26:53Z","endedAt":"2025-03-14T09:27:05Z","outcome":"parked","parkedAt":"2025-03-14T09:27:05Z"}`
)

func loadState(t *testing.T, data string) *State {
	t.Helper()
	var s State
	require.NoError(t, json.Unmarshal([]byte(data), &s))
	return &s
}

// legacyWorld is a world (real aggregates) whose saga was saved by the
// earlier version as data: the stock it reserved is reserved, the events it
// applied are delivered, and prepare puts the order and the payment where
// that saga had them. Loading the row is the upgrade.
//
// A saga loaded in MARKING_RESERVED or MARKING_AUTHORIZED counts the step
// it waited for as completed from the start, though the order may record
// it only at the saga's next deadline: until then its steps may be one
// ahead of the order's, which world.check allows for such a saga only.
func legacyWorld(t *testing.T, data string, prepare func(w *world)) *world {
	t.Helper()
	w := newWorld(t, rand.New(rand.NewPCG(17, 17)), worldSpec{
		items: twoLines(), stocks: []int{5, 5}, credit: 10_000, policy: testPolicy,
	}, false)
	for _, c := range w.inflight {
		w.handleCommand(c)
	}
	w.inflight = nil
	w.delivered = append(w.delivered, w.pending...)
	w.pending = nil
	if prepare != nil {
		prepare(w)
	}
	w.s = loadState(t, data)
	w.legacy = true
	return w
}

func (w *world) orderRecords(steps ...messages.SagaStep) {
	for _, step := range steps {
		w.apply(w.order, must(w.t)(w.order.CompleteStep(step, w.clock)))
	}
}

func (w *world) authorizePayment() {
	w.apply(w.customer, must(w.t)(w.customer.Authorize(testOrder, total(w.items))))
}

// A saga saved by the earlier version in any of its states loads, and
// finishes against the real aggregates exactly as a saga of this version
// does: every step recorded once, sold or undone, nothing refused.
func TestUnitLegacyStatesLoadAndFinish(t *testing.T) {
	t.Parallel()
	allSteps := messages.AllSagaSteps()

	t.Run("MARKING_RESERVED, the step not recorded", func(t *testing.T) {
		t.Parallel()
		w := legacyWorld(t, legacyMarkingReservedJSON, nil)
		require.Equal(t, PhaseAuthorizing, w.s.Phase)
		require.Equal(t, PartPending, w.s.Payment)
		require.Zero(t, w.s.Attempts, "a new phase, with all its attempts")
		require.Equal(t, t0.Add(3*time.Second), w.s.Deadline, "the saved deadline")

		// When it passes, the order records the step (in the saga's
		// transaction) and the payment is asked for.
		w.deadline()
		require.Equal(t, []string{id("step:INVENTORY_RESERVED"), id("authorize")}, ids(w.sent[len(w.sent)-2:]))
		require.Equal(t, allSteps[:2], w.order.CompletedSteps())
		w.drain()
		require.Equal(t, "DONE confirmed", checkQuiescent(t, w, 0))
		require.Equal(t, allSteps, w.s.CompletedSteps())
	})

	t.Run("MARKING_RESERVED, the step recorded, its event on its way", func(t *testing.T) {
		t.Parallel()
		w := legacyWorld(t, legacyMarkingReservedJSON, func(w *world) {
			events := must(w.t)(w.order.CompleteStep(messages.StepInventoryReserved, w.clock))
			w.apply(w.order, events)
			w.pending = append(w.pending, events...)
		})
		w.drain()
		require.Equal(t, "DONE confirmed", checkQuiescent(t, w, 0))
		require.Len(t, ofType[messages.MarkOrderStep](w.sent), 2, "INVENTORY_RESERVED recorded once, PAYMENT_AUTHORIZED once")
	})

	t.Run("MARKING_RESERVED, cancelled before its deadline", func(t *testing.T) {
		t.Parallel()
		w := legacyWorld(t, legacyMarkingReservedJSON, func(w *world) { w.requestCancellation() })
		w.drain()
		require.Equal(t, "DONE cancelled", checkQuiescent(t, w, 0))
		require.Equal(t, []messages.SagaStep{messages.StepOrderCreated}, w.order.CompletedSteps(), "a saga that gave up records no step")
		require.Equal(t, []string{"INVENTORY_RESERVED:ReleaseInventory"}, w.s.Compensations)
	})

	t.Run("MARKING_AUTHORIZED", func(t *testing.T) {
		t.Parallel()
		w := legacyWorld(t, legacyMarkingAuthorizedJSON, func(w *world) {
			w.orderRecords(messages.StepInventoryReserved)
			w.authorizePayment()
		})
		require.Equal(t, PhaseConfirming, w.s.Phase)
		require.Equal(t, allSteps[:3], w.s.CompletedSteps())
		w.drain()
		require.Equal(t, "DONE confirmed", checkQuiescent(t, w, 0))
	})

	t.Run("PARKED while settling, re-driven", func(t *testing.T) {
		t.Parallel()
		w := legacyWorld(t, legacyParkedSettlingJSON, func(w *world) {
			w.orderRecords(messages.StepInventoryReserved, messages.StepPaymentAuthorized, messages.StepOrderConfirmed)
			w.authorizePayment()
		})
		require.Equal(t, PhaseParked, w.s.Phase)
		require.Equal(t, PhaseSettling, w.s.ParkedIn)
		require.Equal(t, allSteps, w.s.CompletedSteps())
		w.redrive()
		require.Equal(t, PhaseSettling, w.s.Phase)
		w.drain()
		require.Equal(t, "DONE confirmed", checkQuiescent(t, w, 0))
	})

	t.Run("PARKED while confirming, re-driven", func(t *testing.T) {
		t.Parallel()
		w := legacyWorld(t, legacyParkedConfirmingJSON, func(w *world) {
			w.orderRecords(messages.StepInventoryReserved, messages.StepPaymentAuthorized)
			w.authorizePayment()
		})
		require.Equal(t, PhaseConfirming, w.s.ParkedIn)
		require.Equal(t, allSteps[:3], w.s.CompletedSteps())
		w.redrive()
		w.drain()
		require.Equal(t, "DONE failed", checkQuiescent(t, w, 0))
		require.Equal(t, errcode.SagaTimeout, w.s.Failure.Code)
		require.Equal(t, messages.StatusFailed, w.order.Status())
	})
}

// A state of this version is saved without a copy of the order's steps,
// and loads as it was saved.
func TestUnitStateIsSavedWithoutTheOrdersSteps(t *testing.T) {
	t.Parallel()
	s, _ := driveTo(t, PhaseSettling, twoLines()...)
	for s.Phase == PhaseSettling {
		expire(t, s)
	}
	data, err := json.Marshal(s)
	require.NoError(t, err)
	require.NotContains(t, string(data), `"completed"`)
	require.Contains(t, string(data), `"parkedIn":"SETTLING"`)
	require.Equal(t, clone(s), clone(loadState(t, string(data))))
}
