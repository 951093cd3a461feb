package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func setupOrder(t *testing.T) (*orderRecord, Order, []OrderEvent) {
	t.Helper()
	rec := &orderRecord{
		seq: 7, scenario: MultiLine, id: "o-1", customer: &customerRef{ID: "c-1"},
		lines: []OrderItem{{ProductID: "p-1", Quantity: 2}, {ProductID: "p-2", Quantity: 1}},
		total: 300,
	}
	o := Order{
		ID: "o-1", CustomerID: "c-1", Status: "CONFIRMED", Version: 5, TotalAmount: "3.00",
		Items: []OrderItem{{ProductID: "p-2", Quantity: 1}, {ProductID: "p-1", Quantity: 2}},
	}
	events := []OrderEvent{
		{Type: "ordering.OrderPlaced", Version: 1},
		{Type: "ordering.OrderStepCompleted", Version: 2},
		{Type: "ordering.OrderStepCompleted", Version: 3},
		{Type: "ordering.OrderStepCompleted", Version: 4},
		{Type: "ordering.OrderConfirmed", Version: 5},
	}
	return rec, o, events
}

func TestVerifyOrderAcceptsAConsistentOrder(t *testing.T) {
	t.Parallel()
	rec, o, events := setupOrder(t)
	require.Empty(t, verifyOrder(rec, o, events).problems)

	// Compensations recorded after the final event are fine.
	o.Status, o.Version = "CANCELLED", 6
	events[4] = OrderEvent{Type: "ordering.OrderCancelled", Version: 5}
	events = append(events, OrderEvent{Type: "ordering.OrderCompensated", Version: 6})
	require.Empty(t, verifyOrder(rec, o, events).problems)
}

func TestVerifyOrderFindsEachKindOfViolation(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		change func(rec *orderRecord, o *Order, events *[]OrderEvent)
		inv    string
	}{
		"not final": {func(_ *orderRecord, o *Order, e *[]OrderEvent) { o.Status = "PROCESSING"; o.Version = 4; *e = (*e)[:4] }, InvOrdersFinal},
		"final status changed": {func(rec *orderRecord, _ *Order, _ *[]OrderEvent) {
			rec.finalStatus = "CANCELLED"
		}, InvOrdersFinal},
		"other customer":    {func(_ *orderRecord, o *Order, _ *[]OrderEvent) { o.CustomerID = "c-2" }, InvAsRequested},
		"other quantity":    {func(_ *orderRecord, o *Order, _ *[]OrderEvent) { o.Items[1].Quantity = 3 }, InvAsRequested},
		"missing line":      {func(_ *orderRecord, o *Order, _ *[]OrderEvent) { o.Items = o.Items[:1] }, InvAsRequested},
		"other total":       {func(_ *orderRecord, o *Order, _ *[]OrderEvent) { o.TotalAmount = "3.01" }, InvAsRequested},
		"read model behind": {func(_ *orderRecord, o *Order, _ *[]OrderEvent) { o.Version = 4 }, InvReadModel},
		"status disagrees":  {func(_ *orderRecord, o *Order, _ *[]OrderEvent) { o.Status = "FAILED" }, InvReadModel},
		"no events":         {func(_ *orderRecord, _ *Order, e *[]OrderEvent) { *e = nil }, InvReadModel},
		"gap in versions":   {func(_ *orderRecord, _ *Order, e *[]OrderEvent) { (*e)[2].Version = 9 }, InvReadModel},
		"two final events":  {func(_ *orderRecord, _ *Order, e *[]OrderEvent) { (*e)[3].Type = "ordering.OrderCancelled" }, InvReadModel},
		"no final event":    {func(_ *orderRecord, _ *Order, e *[]OrderEvent) { (*e)[4].Type = "ordering.OrderCompensated" }, InvReadModel},
		"not placed first":  {func(_ *orderRecord, _ *Order, e *[]OrderEvent) { (*e)[0].Type = "ordering.OrderStepCompleted" }, InvReadModel},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rec, o, events := setupOrder(t)
			tc.change(rec, &o, &events)
			c := verifyOrder(rec, o, events)
			require.NotEmpty(t, c.problems[tc.inv], "problems: %v", c.problems)
			require.Contains(t, c.problems[tc.inv][0], "order o-1 (multi-line #7)")
		})
	}
}

func TestStockAndCreditViolations(t *testing.T) {
	t.Parallel()
	p := &productRef{ID: "p-1", InitialStock: 100}
	require.Empty(t, stockViolations(p, Product{Available: 60}, 40))
	require.Len(t, stockViolations(p, Product{Available: 61}, 40), 1, "a unit appeared")
	require.Len(t, stockViolations(p, Product{Available: 55, Reserved: 5}, 40), 1, "reservation left after settling")
	require.Len(t, stockViolations(&productRef{ID: "p", InitialStock: 0}, Product{Available: -1}, 1), 1, "oversold")

	c := &customerRef{ID: "c-1", InitialCredit: 100_00}
	require.Empty(t, creditViolations(c, Customer{Balance: "60.00", Held: "0.00"}, 40_00))
	require.Len(t, creditViolations(c, Customer{Balance: "60.01", Held: "0.00"}, 40_00), 1)
	require.Len(t, creditViolations(c, Customer{Balance: "50.00", Held: "10.00"}, 40_00), 1, "hold left after settling")
	require.Len(t, creditViolations(c, Customer{Balance: "x", Held: "0.00"}, 0), 1)
}

func TestInvariantSetKeepsOrderAndCapsExamples(t *testing.T) {
	t.Parallel()
	s := newInvariantSet(InvStock, InvCredit)
	s.checked(InvStock, 3)
	s.checked(InvCredit, 2)
	for i := range maxExamples + 5 {
		s.violate(InvCredit, "violation %d", i)
	}
	list := s.list()
	require.Equal(t, InvariantResult{Name: InvStock, Passed: true, Checked: 3}, list[0])
	require.Equal(t, InvCredit, list[1].Name)
	require.False(t, list[1].Passed)
	require.Equal(t, maxExamples+5, list[1].Violations)
	require.Len(t, list[1].Examples, maxExamples)
}

func TestFinalEventTime(t *testing.T) {
	t.Parallel()
	placed := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	events := []OrderEvent{
		{Type: "ordering.OrderPlaced", Version: 1, OccurredAt: placed},
		{Type: "ordering.OrderCancelled", Version: 2, OccurredAt: placed.Add(time.Second)},
		{Type: "ordering.OrderCompensated", Version: 3, OccurredAt: placed.Add(2 * time.Second)},
	}
	at, ok := finalEventTime(events)
	require.True(t, ok)
	require.Equal(t, placed.Add(time.Second), at, "compensations after the final event do not count")
	_, ok = finalEventTime(events[:1])
	require.False(t, ok)
}

// Orders the system gave up on are failures of a drill, whatever the
// invariants of stock and credit say; refusals by a service are not.
func TestSystemFailuresAreTold(t *testing.T) {
	t.Parallel()
	require.True(t, SystemFailure("FAILED", "SAGA_TIMEOUT"))
	require.True(t, SystemFailure("FAILED", "COMPENSATION_FAILED"))
	require.False(t, SystemFailure("CANCELLED", "PAYMENT_FAILED"))
	require.False(t, SystemFailure("CANCELLED", "INVENTORY_UNAVAILABLE"))
	require.False(t, SystemFailure("CONFIRMED", ""))
}

// An unanswered placement is re-sent a second later per attempt, at most
// every five seconds: a client riding out an outage of minutes.
func TestResendDelayGrowsAndIsCapped(t *testing.T) {
	t.Parallel()
	require.Equal(t, time.Second, resendDelay(1))
	require.Equal(t, 3*time.Second, resendDelay(3))
	require.Equal(t, maxResendDelay, resendDelay(100))
	require.Equal(t, 5*time.Minute, DefaultConfig().ResendFor)
}
