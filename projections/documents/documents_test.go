package documents_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/projections/documents"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// stream numbers payloads as consecutive events of one stream.
func stream(id, streamType string, payloads ...messages.Event) []documents.Event {
	out := make([]documents.Event, len(payloads))
	for i, p := range payloads {
		out[i] = documents.Event{
			ID: fmt.Sprintf("%s-e%d", id, i+1), Type: p.EventType(), StreamID: id, StreamType: streamType,
			Version: i + 1, Position: int64(100 + i), OccurredAt: t0.Add(time.Duration(i) * time.Second), Payload: p,
		}
	}
	return out
}

func placed(id string) messages.OrderPlaced {
	return messages.OrderPlaced{
		OrderID: id, CustomerID: "c1", Currency: "USD", Total: 2*1250 + 199, PlacedAt: t0,
		Items: []messages.OrderLine{
			{ProductID: "p1", ProductName: "Mug", SKU: "MUG-1", Quantity: 2, UnitPrice: 1250},
			{ProductID: "p2", ProductName: "Pen", SKU: "PEN-1", Quantity: 1, UnitPrice: 199},
		},
	}
}

func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

func TestFoldOrderConfirmed(t *testing.T) {
	t.Parallel()
	events := stream("o1", "Order",
		placed("o1"),
		messages.OrderStepCompleted{OrderID: "o1", Step: messages.StepInventoryReserved, At: at(1)},
		messages.OrderStepCompleted{OrderID: "o1", Step: messages.StepPaymentAuthorized, At: at(2)},
		messages.OrderConfirmed{OrderID: "o1", At: at(3)},
	)

	d, err := documents.FoldOrder(documents.NewOrder("o1"), events...)
	require.NoError(t, err)

	require.Equal(t, "o1", d.ID)
	require.Equal(t, "c1", d.CustomerID)
	require.Equal(t, messages.StatusConfirmed, d.Status)
	require.Equal(t, messages.StepOrderConfirmed, d.CurrentStep)
	require.Equal(t, messages.AllSagaSteps(), d.CompletedSteps)
	require.Empty(t, d.PendingSteps)
	require.NotNil(t, d.PendingSteps, "arrays are never null in the index")
	require.Nil(t, d.Failure)
	require.Equal(t, money.Amount(2699), d.Total)
	require.Equal(t, []documents.OrderItem{
		{ProductID: "p1", ProductName: "Mug", SKU: "MUG-1", Quantity: 2, UnitPrice: 1250, LineTotal: 2500},
		{ProductID: "p2", ProductName: "Pen", SKU: "PEN-1", Quantity: 1, UnitPrice: 199, LineTotal: 199},
	}, d.Items)
	require.Equal(t, t0, d.CreatedAt)
	require.Equal(t, at(3), d.UpdatedAt)
	require.Equal(t, 4, d.Version)
	require.Len(t, d.Timeline, 4)
	require.Equal(t, documents.TimelineEntry{
		Version: 2, EventID: "o1-e2", Type: "ordering.OrderStepCompleted", At: at(1), RecordedAt: at(1),
		Step: messages.StepInventoryReserved, Status: messages.StatusProcessing,
	}, d.Timeline[1])
	require.Equal(t, messages.StatusConfirmed, d.Timeline[3].Status)
}

func TestFoldOrderStatusAndSteps(t *testing.T) {
	t.Parallel()
	events := stream("o1", "Order",
		placed("o1"),
		messages.OrderStepCompleted{OrderID: "o1", Step: messages.StepInventoryReserved, At: at(1)},
	)
	d, err := documents.FoldOrder(documents.NewOrder("o1"), events[:1]...)
	require.NoError(t, err)
	require.Equal(t, messages.StatusPending, d.Status)
	require.Equal(t, messages.StepOrderCreated, d.CurrentStep)
	require.Equal(t, []messages.SagaStep{messages.StepInventoryReserved, messages.StepPaymentAuthorized, messages.StepOrderConfirmed}, d.PendingSteps)

	d, err = documents.FoldOrder(d, events...)
	require.NoError(t, err)
	require.Equal(t, messages.StatusProcessing, d.Status, "the first step after creation makes the order PROCESSING")
	require.Equal(t, messages.StepInventoryReserved, d.CurrentStep)
	require.Equal(t, []messages.SagaStep{messages.StepPaymentAuthorized, messages.StepOrderConfirmed}, d.PendingSteps)
}

func TestFoldOrderCancelledWithCompensation(t *testing.T) {
	t.Parallel()
	events := stream("o2", "Order",
		placed("o2"),
		messages.OrderStepCompleted{OrderID: "o2", Step: messages.StepInventoryReserved, At: at(1)},
		messages.OrderCompensated{OrderID: "o2", Step: messages.StepInventoryReserved, Action: "ReleaseStock", Reason: "payment refused", At: at(2)},
		messages.OrderCancelled{OrderID: "o2", Code: errcode.PaymentFailed, Message: "insufficient funds", Step: messages.StepInventoryReserved, At: at(3)},
	)

	d, err := documents.FoldOrder(documents.NewOrder("o2"), events...)
	require.NoError(t, err)

	require.Equal(t, messages.StatusCancelled, d.Status)
	require.Equal(t, &documents.Failure{Code: errcode.PaymentFailed, Message: "insufficient funds", Step: messages.StepInventoryReserved, At: at(3)}, d.Failure)
	require.Equal(t, []documents.Compensation{{Step: messages.StepInventoryReserved, Action: "ReleaseStock", Reason: "payment refused", At: at(2)}}, d.Compensations)
	require.Empty(t, d.PendingSteps, "a final order expects nothing")
	require.Equal(t, messages.StepInventoryReserved, d.CurrentStep)
	require.Equal(t, "ReleaseStock: payment refused", d.Timeline[2].Detail)
	require.Equal(t, "PAYMENT_FAILED: insufficient funds", d.Timeline[3].Detail)
}

func TestFoldOrderCancellationRequestAndFailure(t *testing.T) {
	t.Parallel()
	events := stream("o3", "Order",
		placed("o3"),
		messages.OrderCancellationRequested{OrderID: "o3", Reason: "changed my mind", By: "c1", At: at(1)},
		messages.OrderFailed{OrderID: "o3", Code: errcode.SagaTimeout, Message: "no answer", Step: messages.StepOrderCreated, At: at(2)},
	)
	d, err := documents.FoldOrder(documents.NewOrder("o3"), events...)
	require.NoError(t, err)
	require.True(t, d.CancellationRequested)
	require.Equal(t, messages.StatusFailed, d.Status)
	require.Equal(t, errcode.SagaTimeout, d.Failure.Code)
	require.Equal(t, "changed my mind: by c1", d.Timeline[1].Detail)
}

// A cancellation the customer asked for is no failure: the document has
// none (a failure's code is always one of the contract's), and the reason
// stays in the timeline.
func TestFoldOrderCancelledOnRequestHasNoFailure(t *testing.T) {
	t.Parallel()
	events := stream("o4", "Order",
		placed("o4"),
		messages.OrderCancellationRequested{OrderID: "o4", Reason: "changed my mind", By: "c1", At: at(1)},
		messages.OrderCancelled{OrderID: "o4", Message: "cancelled by customer", Step: messages.StepOrderCreated, At: at(2)},
	)
	d, err := documents.FoldOrder(documents.NewOrder("o4"), events...)
	require.NoError(t, err)
	require.Equal(t, messages.StatusCancelled, d.Status)
	require.Nil(t, d.Failure)
	require.Equal(t, "changed my mind: by c1", d.Timeline[1].Detail)
	require.Equal(t, "cancelled by customer", d.Timeline[2].Detail)

	refused := stream("o5", "Order",
		placed("o5"),
		messages.OrderCancelled{OrderID: "o5", Code: errcode.InventoryUnavailable, Message: "out of stock", Step: messages.StepOrderCreated, At: at(1)},
	)
	d, err = documents.FoldOrder(documents.NewOrder("o5"), refused...)
	require.NoError(t, err)
	require.Equal(t, &documents.Failure{Code: errcode.InventoryUnavailable, Message: "out of stock", Step: messages.StepOrderCreated, At: at(1)}, d.Failure)
}

// Duplicates, redeliveries and any order of arrival that leaves no hole
// yield the document of the stream applied once, in order.
func TestFoldOrderIgnoresDuplicatesAndOrder(t *testing.T) {
	t.Parallel()
	events := stream("o1", "Order",
		placed("o1"),
		messages.OrderStepCompleted{OrderID: "o1", Step: messages.StepInventoryReserved, At: at(1)},
		messages.OrderStepCompleted{OrderID: "o1", Step: messages.StepPaymentAuthorized, At: at(2)},
		messages.OrderConfirmed{OrderID: "o1", At: at(3)},
	)
	want, err := documents.FoldOrder(documents.NewOrder("o1"), events...)
	require.NoError(t, err)

	for i := 0; i < 50; i++ {
		input := append(append([]documents.Event{}, events...), events...)
		rand.Shuffle(len(input), func(a, b int) { input[a], input[b] = input[b], input[a] })
		got, err := documents.FoldOrder(documents.NewOrder("o1"), input...)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}

	// Applying events again on the final document changes nothing.
	again, err := documents.FoldOrder(want, events...)
	require.NoError(t, err)
	require.Equal(t, want, again)
}

func TestFoldOrderStopsAtGap(t *testing.T) {
	t.Parallel()
	events := stream("o1", "Order",
		placed("o1"),
		messages.OrderStepCompleted{OrderID: "o1", Step: messages.StepInventoryReserved, At: at(1)},
		messages.OrderStepCompleted{OrderID: "o1", Step: messages.StepPaymentAuthorized, At: at(2)},
	)

	d, err := documents.FoldOrder(documents.NewOrder("o1"), events[0], events[2])

	gap, ok := err.(*documents.GapError)
	require.True(t, ok, "want a *GapError, got %v", err)
	require.Equal(t, documents.GapError{StreamID: "o1", Have: 1, Next: 3}, *gap)
	require.Equal(t, 1, d.Version, "the fold keeps what it could apply and never crosses the hole")
}

func TestApplyOrderEventIsPure(t *testing.T) {
	t.Parallel()
	events := stream("o1", "Order",
		placed("o1"),
		messages.OrderStepCompleted{OrderID: "o1", Step: messages.StepInventoryReserved, At: at(1)},
	)
	first := documents.ApplyOrderEvent(documents.NewOrder("o1"), events[0])
	snapshot := documents.ApplyOrderEvent(documents.NewOrder("o1"), events[0])

	_ = documents.ApplyOrderEvent(first, events[1])

	require.Equal(t, snapshot, first, "applying an event must not modify its input")
}

func TestFoldProduct(t *testing.T) {
	t.Parallel()
	events := stream("p1", "Product",
		messages.ProductCreated{ProductID: "p1", SKU: "MUG-1", Name: "Mug", Price: 1250, InitialStock: 10},
		messages.StockReserved{ProductID: "p1", OrderID: "o1", Quantity: 3},
		messages.StockReserved{ProductID: "p1", OrderID: "o2", Quantity: 2},
		messages.StockReservationRejected{ProductID: "p1", OrderID: "o3", Requested: 9, Available: 5, Reason: messages.ReasonInsufficientStock},
		messages.StockCommitted{ProductID: "p1", OrderID: "o1", Quantity: 3},
		messages.StockReleased{ProductID: "p1", OrderID: "o2", Quantity: 2},
		messages.ProductRestocked{ProductID: "p1", Quantity: 4},
	)

	d, err := documents.FoldProduct(documents.NewProduct("p1"), events...)
	require.NoError(t, err)

	require.Equal(t, documents.Product{
		ID: "p1", SKU: "MUG-1", Name: "Mug", Price: 1250,
		OnHand: 11, Reserved: 0, Available: 11, Committed: 3,
		CreatedAt: t0, UpdatedAt: at(6), Version: 7,
	}, d)

	mid, err := documents.FoldProduct(documents.NewProduct("p1"), events[:3]...)
	require.NoError(t, err)
	require.Equal(t, 10, mid.OnHand)
	require.Equal(t, 5, mid.Reserved)
	require.Equal(t, 5, mid.Available)

	_, err = documents.FoldProduct(mid, events[4])
	require.Error(t, err, "version 5 cannot follow version 3")
}

func TestFoldCustomer(t *testing.T) {
	t.Parallel()
	events := stream("c1", "Customer",
		messages.CustomerRegistered{CustomerID: "c1", Email: "ann@example.com", Name: "Ann", InitialCredit: 10000},
		messages.FundsAdded{CustomerID: "c1", Amount: 500},
		messages.PaymentAuthorized{CustomerID: "c1", OrderID: "o1", Amount: 3000},
		messages.PaymentAuthorized{CustomerID: "c1", OrderID: "o2", Amount: 1000},
		messages.PaymentAuthorizationRejected{CustomerID: "c1", OrderID: "o3", Amount: 99999, Balance: 6500, Reason: messages.ReasonInsufficientFunds},
		messages.PaymentCaptured{CustomerID: "c1", OrderID: "o1", Amount: 3000},
		messages.PaymentVoided{CustomerID: "c1", OrderID: "o2", Amount: 1000},
	)

	d, err := documents.FoldCustomer(documents.NewCustomer("c1"), events...)
	require.NoError(t, err)

	require.Equal(t, documents.Customer{
		ID: "c1", Email: "ann@example.com", Name: "Ann",
		Balance: 7500, Held: 0, Captured: 3000,
		CreatedAt: t0, UpdatedAt: at(6), Version: 7,
	}, d)

	held, err := documents.FoldCustomer(documents.NewCustomer("c1"), events[:4]...)
	require.NoError(t, err)
	require.Equal(t, money.Amount(6500), held.Balance)
	require.Equal(t, money.Amount(4000), held.Held)
}
