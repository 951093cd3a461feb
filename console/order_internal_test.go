package console

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The order page's timeline takes its times from the order's events and
// its states from the read model; other contexts' events only list.
func TestOrderDetailBuildsTheTimelineFromTheEvents(t *testing.T) {
	t.Parallel()
	at := func(s int) time.Time { return time.Date(2026, 11, 30, 12, 0, s, 0, time.UTC) }
	d := orderDetail{
		Order: orderView{
			Status: "CANCELLED", CompletedSteps: []string{"ORDER_CREATED", "INVENTORY_RESERVED"},
			Items: []struct {
				ProductID string `json:"productId"`
				Quantity  int    `json:"quantity"`
				UnitPrice string `json:"unitPrice"`
			}{{ProductID: "p-1", Quantity: 2, UnitPrice: "12.50"}},
		},
		Events: []orderEvent{
			{Context: "ordering", Type: "ordering.OrderPlaced", OccurredAt: at(1),
				Data: `{"items":[{"productId":"p-1","productName":"Blue mug","sku":"MUG-1"}]}`},
			{Context: "inventory", Type: "inventory.StockReserved", OccurredAt: at(2), Data: `{"step":"PAYMENT_AUTHORIZED"}`},
			{Context: "ordering", Type: "ordering.OrderStepCompleted", OccurredAt: at(3), Data: `{"step":"INVENTORY_RESERVED","at":"2026-11-30T12:00:02.5Z"}`},
			{Context: "ordering", Type: "ordering.OrderCancellationRequested", OccurredAt: at(4), Data: `{"reason":"changed my mind","by":"ops"}`},
			{Context: "ordering", Type: "ordering.OrderCompensated", OccurredAt: at(5), Data: `{"step":"INVENTORY_RESERVED","action":"ReleaseInventory","reason":"CANCELLED_BY_CUSTOMER"}`},
			{Context: "ordering", Type: "ordering.OrderCancelled", OccurredAt: at(6), Data: `{}`},
		},
	}
	d.build()

	require.Equal(t, []timelineStep{
		{Step: "ORDER_CREATED", State: "done", At: at(1)},
		{Step: "INVENTORY_RESERVED", State: "done", At: at(2).Add(500 * time.Millisecond)},
		{Step: "PAYMENT_AUTHORIZED", State: "skipped"},
		{Step: "ORDER_CONFIRMED", State: "skipped"},
	}, d.Timeline, "an inventory event naming a step is not the order's step")
	require.Equal(t, []compensation{{Step: "INVENTORY_RESERVED", Action: "ReleaseInventory", Reason: "CANCELLED_BY_CUSTOMER", At: at(5)}}, d.Compensations)
	require.NotNil(t, d.Cancellation)
	require.Equal(t, "changed my mind", d.Cancellation.Reason)
	require.Equal(t, []itemLine{{ProductID: "p-1", Name: "Blue mug", SKU: "MUG-1", Quantity: 2, UnitPrice: "12.50"}}, d.Items)
}

// An open order's first pending step is the one the saga works on.
func TestOrderDetailMarksTheCurrentStep(t *testing.T) {
	t.Parallel()
	d := orderDetail{Order: orderView{Status: "PROCESSING",
		CompletedSteps: []string{"ORDER_CREATED", "INVENTORY_RESERVED"},
		PendingSteps:   []string{"PAYMENT_AUTHORIZED", "ORDER_CONFIRMED"}}}
	d.build()
	var states []string
	for _, s := range d.Timeline {
		states = append(states, s.State)
	}
	require.Equal(t, []string{"done", "done", "current", "pending"}, states)
}
