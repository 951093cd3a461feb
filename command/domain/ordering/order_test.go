package ordering_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/command/domain/ordering"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/messages"
)

const orderID = "o-1"

var (
	now  = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	home = messages.Address{Street: "1 Main St", City: "Springfield", Zip: "12345", Country: "US", State: "IL"}
)

func placeOrder() messages.PlaceOrder {
	return messages.PlaceOrder{
		OrderID:    orderID,
		CustomerID: "c-1",
		Items: []messages.OrderLine{
			{ProductID: "p-1", ProductName: "Widget", SKU: "W-1", Quantity: 2, UnitPrice: 2999},
			{ProductID: "p-2", ProductName: "Gadget", SKU: "G-1", Quantity: 1, UnitPrice: 500},
		},
		ShippingAddress: home,
		PaymentMethod:   messages.PaymentMethod{Type: "card", Token: "tok_4242424242424242"},
		IdempotencyKey:  "k-1",
	}
}

// setup returns a placed order, then completes the given steps.
func setup(t *testing.T, steps ...messages.SagaStep) *ordering.Order {
	t.Helper()
	o := &ordering.Order{}
	apply(t, o)(o.Place(placeOrder(), now))
	for _, s := range steps {
		apply(t, o)(o.CompleteStep(s, now))
	}
	return o
}

// apply checks that a decision succeeded without touching the order, then
// applies its events, the way a command handler does after appending them.
func apply(t *testing.T, o *ordering.Order) func([]messages.Event, error) []messages.Event {
	t.Helper()
	version := o.Version()
	return func(events []messages.Event, err error) []messages.Event {
		t.Helper()
		require.NoError(t, err)
		require.Equal(t, version, o.Version(), "decisions never mutate")
		for _, e := range events {
			o.Apply(e)
		}
		return events
	}
}

func requireCode(t *testing.T, code errcode.Code, events []messages.Event, err error) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, errcode.Of(err), err.Error())
	require.Empty(t, events)
}

func steps(s ...messages.SagaStep) []messages.SagaStep { return s }

func TestPlace(t *testing.T) {
	t.Parallel()

	o := &ordering.Order{}
	events := apply(t, o)(o.Place(placeOrder(), now.In(time.FixedZone("X", 3600))))

	require.Equal(t, []messages.Event{messages.OrderPlaced{
		OrderID:    orderID,
		CustomerID: "c-1",
		Items: []messages.OrderLine{
			{ProductID: "p-1", ProductName: "Widget", SKU: "W-1", Quantity: 2, UnitPrice: 2999},
			{ProductID: "p-2", ProductName: "Gadget", SKU: "G-1", Quantity: 1, UnitPrice: 500},
		},
		Total:           6498,
		Currency:        "USD",
		ShippingAddress: home,
		BillingAddress:  home,
		PaymentMethod:   messages.PaymentMethod{Type: "card", Token: "****4242"},
		IdempotencyKey:  "k-1",
		PlacedAt:        now,
	}}, events)
	require.Equal(t, time.UTC, events[0].(messages.OrderPlaced).PlacedAt.Location())

	require.Equal(t, orderID, o.ID())
	require.Equal(t, "c-1", o.CustomerID())
	require.Equal(t, messages.StatusPending, o.Status())
	require.Equal(t, messages.StepOrderCreated, o.CurrentStep())
	require.Equal(t, steps(messages.StepOrderCreated), o.CompletedSteps())
	require.Equal(t, steps(messages.StepInventoryReserved, messages.StepPaymentAuthorized, messages.StepOrderConfirmed), o.PendingSteps())
	require.Equal(t, money.Amount(6498), o.Total())
	require.Equal(t, "USD", o.Currency())
	require.Len(t, o.Items(), 2)
	require.Equal(t, home, o.ShippingAddress())
	require.Equal(t, home, o.BillingAddress())
	require.Equal(t, "****4242", o.PaymentMethod().Token)
	require.Equal(t, "k-1", o.IdempotencyKey())
	require.Equal(t, now, o.PlacedAt())
	require.Equal(t, now, o.UpdatedAt())
	require.False(t, o.CancellationRequested())
	require.Nil(t, o.Failure())
	require.Empty(t, o.Compensations())
	require.Equal(t, 1, o.Version())
}

func TestPlaceTwiceConflicts(t *testing.T) {
	t.Parallel()

	o := setup(t)
	events, err := o.Place(placeOrder(), now)
	requireCode(t, errcode.Conflict, events, err)
}

func TestPlaceValidates(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		edit  func(*messages.PlaceOrder)
		field string
	}{
		{"no order id", func(c *messages.PlaceOrder) { c.OrderID = "" }, "orderId"},
		{"no customer", func(c *messages.PlaceOrder) { c.CustomerID = " " }, "customerId"},
		{"no items", func(c *messages.PlaceOrder) { c.Items = nil }, "items"},
		{"no product id", func(c *messages.PlaceOrder) { c.Items[1].ProductID = "" }, "items[1].productId"},
		{"no product name", func(c *messages.PlaceOrder) { c.Items[0].ProductName = "" }, "items[0].productName"},
		{"zero quantity", func(c *messages.PlaceOrder) { c.Items[0].Quantity = 0 }, "items[0].quantity"},
		{"negative quantity", func(c *messages.PlaceOrder) { c.Items[1].Quantity = -1 }, "items[1].quantity"},
		{"zero price", func(c *messages.PlaceOrder) { c.Items[0].UnitPrice = 0 }, "items[0].unitPrice"},
		{"negative price", func(c *messages.PlaceOrder) { c.Items[0].UnitPrice = -100 }, "items[0].unitPrice"},
		{"foreign currency", func(c *messages.PlaceOrder) { c.Currency = "EUR" }, "currency"},
		{"no street", func(c *messages.PlaceOrder) { c.ShippingAddress.Street = "" }, "shippingAddress.street"},
		{"no city", func(c *messages.PlaceOrder) { c.ShippingAddress.City = " " }, "shippingAddress.city"},
		{"no zip", func(c *messages.PlaceOrder) { c.ShippingAddress.Zip = "" }, "shippingAddress.zip"},
		{"no country", func(c *messages.PlaceOrder) { c.ShippingAddress.Country = "" }, "shippingAddress.country"},
		{"partial billing", func(c *messages.PlaceOrder) { c.BillingAddress = messages.Address{City: "Shelbyville"} }, "billingAddress.street"},
		{
			"total overflow",
			func(c *messages.PlaceOrder) { c.Items[0].UnitPrice, c.Items[0].Quantity = math.MaxInt64/2, 3 },
			"items[0].unitPrice",
		},
		{
			"same product, two prices",
			func(c *messages.PlaceOrder) { c.Items[1].ProductID, c.Items[1].UnitPrice = "p-1", 1 },
			"items[1].productId",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := placeOrder()
			tt.edit(&cmd)
			events, err := (&ordering.Order{}).Place(cmd, now)
			requireCode(t, errcode.InvalidOrderData, events, err)
			var coded *errcode.Error
			require.ErrorAs(t, err, &coded)
			require.Equal(t, tt.field, coded.Details["field"])
		})
	}
}

// Two lines of one product are refused, naming the second: merging them
// silently would hide a client's mistake, and the saga reserves per line.
func TestPlaceRefusesTwoLinesOfOneProduct(t *testing.T) {
	t.Parallel()

	cmd := placeOrder()
	cmd.Items = append(cmd.Items, messages.OrderLine{ProductID: "p-1", ProductName: "Widget", SKU: "W-1", Quantity: 3, UnitPrice: 2999})
	events, err := (&ordering.Order{}).Place(cmd, now)
	requireCode(t, errcode.InvalidOrderData, events, err)
	var coded *errcode.Error
	require.ErrorAs(t, err, &coded)
	require.Equal(t, "items[2].productId", coded.Details["field"])
	require.Contains(t, err.Error(), "p-1 is on lines 0 and 2")
}

func TestPlaceKeepsExplicitBillingAddress(t *testing.T) {
	t.Parallel()

	cmd := placeOrder()
	cmd.BillingAddress = messages.Address{Street: "2 Elm St", City: "Shelbyville", Zip: "54321", Country: "US"}
	cmd.Currency = "USD"
	cmd.PaymentMethod = messages.PaymentMethod{Type: "account"}
	o := &ordering.Order{}
	apply(t, o)(o.Place(cmd, now))

	require.Equal(t, cmd.BillingAddress, o.BillingAddress())
	require.Equal(t, messages.PaymentMethod{Type: "account"}, o.PaymentMethod())
}

func TestGettersReturnCopies(t *testing.T) {
	t.Parallel()

	o := setup(t, messages.StepInventoryReserved)
	o.Items()[0].Quantity = 99
	o.CompletedSteps()[0] = "mutated"
	require.Equal(t, 2, o.Items()[0].Quantity)
	require.Equal(t, messages.StepOrderCreated, o.CompletedSteps()[0])

	apply(t, o)(o.Fail(errcode.SagaTimeout, "late", now))
	o.Failure().Code = errcode.Internal
	require.Equal(t, errcode.SagaTimeout, o.Failure().Code)
}

func TestDecisionsNeedAPlacedOrder(t *testing.T) {
	t.Parallel()

	o := &ordering.Order{}
	decisions := map[string]func() ([]messages.Event, error){
		"complete step": func() ([]messages.Event, error) { return o.CompleteStep(messages.StepInventoryReserved, now) },
		"confirm":       func() ([]messages.Event, error) { return o.Confirm(now) },
		"request":       func() ([]messages.Event, error) { return o.RequestCancellation("", "", now) },
		"cancel":        func() ([]messages.Event, error) { return o.Cancel("", "", now) },
		"fail":          func() ([]messages.Event, error) { return o.Fail(errcode.SagaTimeout, "", now) },
		"compensate": func() ([]messages.Event, error) {
			return o.RecordCompensation(messages.StepInventoryReserved, "ReleaseStock", "", now)
		},
	}
	for name, decide := range decisions {
		events, err := decide()
		require.Equal(t, errcode.NotFound, errcode.Of(err), name)
		require.Empty(t, events, name)
	}
	require.Empty(t, o.Status())
	require.Empty(t, o.CurrentStep())
	require.Empty(t, o.PendingSteps())
}

func TestCompleteStep(t *testing.T) {
	t.Parallel()

	o := setup(t)
	later := now.Add(time.Minute)
	events := apply(t, o)(o.CompleteStep(messages.StepInventoryReserved, later))
	require.Equal(t, []messages.Event{messages.OrderStepCompleted{OrderID: orderID, Step: messages.StepInventoryReserved, At: later}}, events)
	require.Equal(t, messages.StatusProcessing, o.Status(), "the first step after creation starts processing")
	require.Equal(t, messages.StepInventoryReserved, o.CurrentStep())
	require.Equal(t, later, o.UpdatedAt())

	apply(t, o)(o.CompleteStep(messages.StepPaymentAuthorized, later))
	require.Equal(t, messages.StatusProcessing, o.Status())
	require.Equal(t, steps(messages.StepOrderCreated, messages.StepInventoryReserved, messages.StepPaymentAuthorized), o.CompletedSteps())
	require.Equal(t, steps(messages.StepOrderConfirmed), o.PendingSteps())
}

func TestCompleteStepIsIdempotent(t *testing.T) {
	t.Parallel()

	o := setup(t, messages.StepInventoryReserved)
	require.Empty(t, apply(t, o)(o.CompleteStep(messages.StepOrderCreated, now)))
	require.Empty(t, apply(t, o)(o.CompleteStep(messages.StepInventoryReserved, now)))
	require.Equal(t, 2, o.Version())
}

func TestCompleteStepOutOfOrderConflicts(t *testing.T) {
	t.Parallel()

	o := setup(t)
	events, err := o.CompleteStep(messages.StepPaymentAuthorized, now)
	requireCode(t, errcode.Conflict, events, err)

	events, err = o.CompleteStep("SHIPPED", now)
	requireCode(t, errcode.InvalidOrderData, events, err)
}

func TestConfirm(t *testing.T) {
	t.Parallel()

	o := setup(t, messages.StepInventoryReserved, messages.StepPaymentAuthorized)
	events := apply(t, o)(o.Confirm(now))
	require.Equal(t, []messages.Event{messages.OrderConfirmed{OrderID: orderID, At: now}}, events)
	require.Equal(t, messages.StatusConfirmed, o.Status())
	require.Equal(t, messages.StepOrderConfirmed, o.CurrentStep())
	require.Equal(t, messages.AllSagaSteps(), o.CompletedSteps())
	require.Empty(t, o.PendingSteps())

	require.Empty(t, apply(t, o)(o.Confirm(now)), "confirming twice is a no-op")
	require.Empty(t, apply(t, o)(o.CompleteStep(messages.StepOrderConfirmed, now)))
	require.Empty(t, apply(t, o)(o.CompleteStep(messages.StepPaymentAuthorized, now)))
}

func TestCompleteStepOrderConfirmedConfirms(t *testing.T) {
	t.Parallel()

	o := setup(t, messages.StepInventoryReserved, messages.StepPaymentAuthorized)
	events := apply(t, o)(o.CompleteStep(messages.StepOrderConfirmed, now))
	require.Equal(t, []messages.Event{messages.OrderConfirmed{OrderID: orderID, At: now}}, events)
	require.Equal(t, messages.StatusConfirmed, o.Status())
}

func TestConfirmNeedsStockAndPayment(t *testing.T) {
	t.Parallel()

	for _, done := range [][]messages.SagaStep{nil, {messages.StepInventoryReserved}} {
		o := setup(t, done...)
		events, err := o.Confirm(now)
		requireCode(t, errcode.Conflict, events, err)
		events, err = o.CompleteStep(messages.StepOrderConfirmed, now)
		requireCode(t, errcode.Conflict, events, err)
	}
}

func TestCancellationRequestBlocksConfirmation(t *testing.T) {
	t.Parallel()

	o := setup(t, messages.StepInventoryReserved, messages.StepPaymentAuthorized)
	events := apply(t, o)(o.RequestCancellation("changed mind", "c-1", now))
	require.Equal(t, []messages.Event{messages.OrderCancellationRequested{OrderID: orderID, Reason: "changed mind", By: "c-1", At: now}}, events)
	require.True(t, o.CancellationRequested())
	require.Equal(t, messages.StatusProcessing, o.Status(), "a request alone does not end the order")

	events, err := o.Confirm(now)
	requireCode(t, errcode.Conflict, events, err)
	require.Empty(t, apply(t, o)(o.RequestCancellation("again", "c-1", now)), "asking twice is a no-op")
}

func TestRequestCancellation(t *testing.T) {
	t.Parallel()

	confirmed := setup(t, messages.StepInventoryReserved, messages.StepPaymentAuthorized)
	apply(t, confirmed)(confirmed.Confirm(now))
	events, err := confirmed.RequestCancellation("too late", "c-1", now)
	requireCode(t, errcode.Conflict, events, err)

	cancelled := setup(t)
	apply(t, cancelled)(cancelled.Cancel(errcode.InventoryUnavailable, "sold out", now))
	require.Empty(t, apply(t, cancelled)(cancelled.RequestCancellation("", "c-1", now)))
	require.False(t, cancelled.CancellationRequested())

	failed := setup(t)
	apply(t, failed)(failed.Fail(errcode.SagaTimeout, "", now))
	require.Empty(t, apply(t, failed)(failed.RequestCancellation("", "c-1", now)))
}

func TestCancel(t *testing.T) {
	t.Parallel()

	o := setup(t, messages.StepInventoryReserved)
	events := apply(t, o)(o.Cancel(errcode.PaymentFailed, "insufficient funds", now))
	require.Equal(t, []messages.Event{messages.OrderCancelled{
		OrderID: orderID, Code: errcode.PaymentFailed, Message: "insufficient funds", Step: messages.StepInventoryReserved, At: now,
	}}, events)
	require.Equal(t, messages.StatusCancelled, o.Status())
	require.Equal(t, &ordering.Failure{Code: errcode.PaymentFailed, Message: "insufficient funds", Step: messages.StepInventoryReserved, At: now}, o.Failure())
	require.Equal(t, messages.StepInventoryReserved, o.CurrentStep(), "the step where it stopped")
	require.Empty(t, o.PendingSteps())

	require.Empty(t, apply(t, o)(o.Cancel(errcode.PaymentFailed, "again", now)), "cancelling twice is a no-op")
	require.Empty(t, apply(t, o)(o.CompleteStep(messages.StepPaymentAuthorized, now)), "steps are not recorded on a final order")
	require.Equal(t, messages.StatusCancelled, o.Status())

	for name, decide := range map[string]func() ([]messages.Event, error){
		"confirm":       func() ([]messages.Event, error) { return o.Confirm(now) },
		"complete step": func() ([]messages.Event, error) { return o.CompleteStep(messages.StepOrderConfirmed, now) },
		"fail":          func() ([]messages.Event, error) { return o.Fail(errcode.SagaTimeout, "", now) },
	} {
		events, err := decide()
		require.Equal(t, errcode.Conflict, errcode.Of(err), name)
		require.Empty(t, events, name)
	}
}

// A cancellation the customer asked for carries no code and leaves the
// order without a failure: every failure's code is one of the contract's.
func TestCancelWithoutCodeAfterCustomerRequest(t *testing.T) {
	t.Parallel()

	o := setup(t)
	apply(t, o)(o.RequestCancellation("changed mind", "c-1", now))
	events := apply(t, o)(o.Cancel("", "cancelled by customer", now))
	require.Equal(t, []messages.Event{messages.OrderCancelled{
		OrderID: orderID, Message: "cancelled by customer", Step: messages.StepOrderCreated, At: now,
	}}, events)
	require.Equal(t, messages.StatusCancelled, o.Status())
	require.Nil(t, o.Failure())

	events, err := setup(t).Cancel("NOPE", "", now)
	requireCode(t, errcode.InvalidOrderData, events, err)
}

func TestFail(t *testing.T) {
	t.Parallel()

	o := setup(t, messages.StepInventoryReserved, messages.StepPaymentAuthorized)
	events := apply(t, o)(o.Fail(errcode.CompensationFailed, "void failed", now))
	require.Equal(t, []messages.Event{messages.OrderFailed{
		OrderID: orderID, Code: errcode.CompensationFailed, Message: "void failed", Step: messages.StepPaymentAuthorized, At: now,
	}}, events)
	require.Equal(t, messages.StatusFailed, o.Status())
	require.Equal(t, errcode.CompensationFailed, o.Failure().Code)

	require.Empty(t, apply(t, o)(o.Fail(errcode.SagaTimeout, "again", now)), "failing twice is a no-op")
	for name, decide := range map[string]func() ([]messages.Event, error){
		"confirm": func() ([]messages.Event, error) { return o.Confirm(now) },
		"cancel":  func() ([]messages.Event, error) { return o.Cancel(errcode.PaymentFailed, "", now) },
	} {
		events, err := decide()
		require.Equal(t, errcode.Conflict, errcode.Of(err), name)
		require.Empty(t, events, name)
	}
}

func TestFailNeedsAKnownCode(t *testing.T) {
	t.Parallel()

	o := setup(t)
	for _, code := range []errcode.Code{"", "SOMETHING"} {
		events, err := o.Fail(code, "", now)
		requireCode(t, errcode.InvalidOrderData, events, err)
	}
}

func TestConfirmedOrderIsFinal(t *testing.T) {
	t.Parallel()

	o := setup(t, messages.StepInventoryReserved, messages.StepPaymentAuthorized)
	apply(t, o)(o.Confirm(now))
	for name, decide := range map[string]func() ([]messages.Event, error){
		"cancel": func() ([]messages.Event, error) { return o.Cancel(errcode.PaymentFailed, "", now) },
		"fail":   func() ([]messages.Event, error) { return o.Fail(errcode.SagaTimeout, "", now) },
		"compensate": func() ([]messages.Event, error) {
			return o.RecordCompensation(messages.StepPaymentAuthorized, "VoidPayment", "", now)
		},
	} {
		events, err := decide()
		require.Equal(t, errcode.Conflict, errcode.Of(err), name)
		require.Empty(t, events, name)
	}
	require.Equal(t, messages.StatusConfirmed, o.Status())
	require.Nil(t, o.Failure())
}

func TestRecordCompensation(t *testing.T) {
	t.Parallel()

	o := setup(t, messages.StepInventoryReserved, messages.StepPaymentAuthorized)
	events := apply(t, o)(o.RecordCompensation(messages.StepPaymentAuthorized, "VoidPayment", "timeout", now))
	require.Equal(t, []messages.Event{messages.OrderCompensated{
		OrderID: orderID, Step: messages.StepPaymentAuthorized, Action: "VoidPayment", Reason: "timeout", At: now,
	}}, events)
	require.Empty(t, apply(t, o)(o.RecordCompensation(messages.StepPaymentAuthorized, "VoidPayment", "again", now)), "recorded once")
	require.Equal(t, messages.StatusProcessing, o.Status(), "compensating does not end the order")

	apply(t, o)(o.Fail(errcode.SagaTimeout, "no answer", now))
	apply(t, o)(o.RecordCompensation(messages.StepInventoryReserved, "ReleaseStock", "timeout", now))
	require.Equal(t, []ordering.Compensation{
		{Step: messages.StepPaymentAuthorized, Action: "VoidPayment", Reason: "timeout", At: now},
		{Step: messages.StepInventoryReserved, Action: "ReleaseStock", Reason: "timeout", At: now},
	}, o.Compensations())

	events, err := o.RecordCompensation("SHIPPED", "Unship", "", now)
	requireCode(t, errcode.InvalidOrderData, events, err)
	events, err = o.RecordCompensation(messages.StepInventoryReserved, " ", "", now)
	requireCode(t, errcode.InvalidOrderData, events, err)
}

func TestApplyCountsEveryEvent(t *testing.T) {
	t.Parallel()

	o := setup(t)
	o.Apply(messages.StockReserved{ProductID: "p-1", OrderID: orderID, Quantity: 1})
	require.Equal(t, 2, o.Version())
	require.Equal(t, messages.StatusPending, o.Status())
}

// TestRandomDecisionsKeepTheStateMachineSound fires random decisions at
// orders and checks that completed steps always form a prefix of the saga,
// that a final order never changes status, and that a decision yielding no
// events really changes nothing.
func TestRandomDecisionsKeepTheStateMachineSound(t *testing.T) {
	t.Parallel()

	rng := rand.New(rand.NewPCG(2025, 3))
	all := messages.AllSagaSteps()
	codes := errcode.Codes()

	for run := range 200 {
		o := setup(t)
		var final messages.OrderStatus
		for step := range 30 {
			var events []messages.Event
			var err error
			switch rng.IntN(6) {
			case 0, 1:
				events, err = o.CompleteStep(all[rng.IntN(len(all))], now)
			case 2:
				events, err = o.Confirm(now)
			case 3:
				events, err = o.RequestCancellation("", "c-1", now)
			case 4:
				events, err = o.Cancel(codes[rng.IntN(len(codes))], "", now)
			case 5:
				events, err = o.Fail(codes[rng.IntN(len(codes))], "", now)
			}
			if err != nil {
				require.Contains(t, []errcode.Code{errcode.Conflict}, errcode.Of(err), "run %d step %d: %v", run, step, err)
				require.Empty(t, events)
				continue
			}
			apply(t, o)(events, nil)

			completed := o.CompletedSteps()
			require.Equal(t, all[:len(completed)], completed, "run %d step %d: steps complete in order", run, step)
			for _, pending := range o.PendingSteps() {
				require.NotContains(t, completed, pending, "run %d step %d: a step is pending or completed", run, step)
			}
			if final != "" {
				require.Equal(t, final, o.Status(), "run %d step %d: final states are final", run, step)
				require.Empty(t, events)
			} else if o.Status().Terminal() {
				final = o.Status()
			}
			if o.Status() == messages.StatusConfirmed {
				require.Equal(t, all, completed)
				require.False(t, o.CancellationRequested())
			}
		}
	}
}

// Progress.Apply is pure: the progress it was given is unchanged and the
// result shares nothing with it, whatever the events.
func TestProgressApplySharesNothing(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var p ordering.Progress
	p = p.Apply(messages.OrderPlaced{OrderID: "o", PlacedAt: at})
	p = p.Apply(messages.OrderStepCompleted{OrderID: "o", Step: messages.StepInventoryReserved, At: at})
	before := p.Apply(nil) // a copy
	next := p.Apply(messages.OrderCompensated{OrderID: "o", Step: messages.StepInventoryReserved, Action: "ReleaseStock", At: at})
	next = next.Apply(messages.OrderFailed{OrderID: "o", Code: errcode.CompensationFailed, Message: "m", At: at})
	next.Completed[0] = "CHANGED"
	require.Equal(t, before, p, "the input is unchanged")
	require.Empty(t, p.Compensations)
	require.Nil(t, p.Failure)
	require.Equal(t, messages.StatusFailed, next.Status)
	require.Equal(t, []messages.SagaStep{}, next.PendingSteps(), "a final order expects nothing")
	require.Equal(t, messages.StepInventoryReserved, p.CurrentStep())
}
