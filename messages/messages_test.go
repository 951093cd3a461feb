package messages_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/messages"
)

var at = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

// sample is a message and the id of the stream (or partition) it belongs to.
type sample[M any] struct {
	msg M
	id  string
}

// sampleEvents holds one fully populated value of every event type.
func sampleEvents() []sample[messages.Event] {
	addr := messages.Address{Street: "1 Main St", City: "Springfield", Zip: "12345", Country: "US", State: "IL"}
	return []sample[messages.Event]{
		{messages.OrderPlaced{
			OrderID: "o-1", CustomerID: "c-1",
			Items: []messages.OrderLine{{ProductID: "p-1", ProductName: "Widget", SKU: "W-1", Quantity: 2, UnitPrice: 2999}},
			Total: 5998, Currency: "USD", ShippingAddress: addr, BillingAddress: addr,
			PaymentMethod:  messages.PaymentMethod{Type: "card", Token: "****4242"},
			IdempotencyKey: "k-1", PlacedAt: at,
		}, "o-1"},
		{messages.OrderStepCompleted{OrderID: "o-1", Step: messages.StepInventoryReserved, At: at}, "o-1"},
		{messages.OrderCompensated{OrderID: "o-1", Step: messages.StepInventoryReserved, Action: "ReleaseStock", Reason: "payment refused", At: at}, "o-1"},
		{messages.OrderCancellationRequested{OrderID: "o-1", Reason: "changed mind", By: "c-1", At: at}, "o-1"},
		{messages.OrderConfirmed{OrderID: "o-1", At: at}, "o-1"},
		{messages.OrderCancelled{OrderID: "o-1", Code: errcode.PaymentFailed, Message: "insufficient funds", Step: messages.StepInventoryReserved, At: at}, "o-1"},
		{messages.OrderFailed{OrderID: "o-1", Code: errcode.SagaTimeout, Message: "no answer", Step: messages.StepOrderCreated, At: at}, "o-1"},
		{messages.ProductCreated{ProductID: "p-1", SKU: "W-1", Name: "Widget", Price: 2999, InitialStock: 10}, "p-1"},
		{messages.ProductRestocked{ProductID: "p-1", Quantity: 5}, "p-1"},
		{messages.StockReserved{ProductID: "p-1", OrderID: "o-1", Quantity: 2}, "p-1"},
		{messages.StockReservationRejected{ProductID: "p-1", OrderID: "o-1", Requested: 20, Available: 3, Reason: messages.ReasonInsufficientStock}, "p-1"},
		{messages.StockReleased{ProductID: "p-1", OrderID: "o-1", Quantity: 2}, "p-1"},
		{messages.StockCommitted{ProductID: "p-1", OrderID: "o-1", Quantity: 2}, "p-1"},
		{messages.CustomerRegistered{CustomerID: "c-1", Email: "a@example.com", Name: "Ann", InitialCredit: 10000}, "c-1"},
		{messages.FundsAdded{CustomerID: "c-1", Amount: 500}, "c-1"},
		{messages.PaymentAuthorized{CustomerID: "c-1", OrderID: "o-1", Amount: 5998}, "c-1"},
		{messages.PaymentAuthorizationRejected{CustomerID: "c-1", OrderID: "o-1", Amount: 5998, Balance: 100, Reason: messages.ReasonInsufficientFunds}, "c-1"},
		{messages.PaymentCaptured{CustomerID: "c-1", OrderID: "o-1", Amount: 5998}, "c-1"},
		{messages.PaymentVoided{CustomerID: "c-1", OrderID: "o-1", Amount: 5998}, "c-1"},
	}
}

func sampleCommands() []sample[messages.Command] {
	addr := messages.Address{Street: "1 Main St", City: "Springfield", Zip: "12345", Country: "US"}
	return []sample[messages.Command]{
		{messages.PlaceOrder{
			OrderID: "o-1", CustomerID: "c-1",
			Items:    []messages.OrderLine{{ProductID: "p-1", ProductName: "Widget", SKU: "W-1", Quantity: 2, UnitPrice: 2999}},
			Currency: "USD", ShippingAddress: addr, BillingAddress: addr,
			PaymentMethod: messages.PaymentMethod{Type: "card", Token: "****4242"}, IdempotencyKey: "k-1",
		}, "o-1"},
		{messages.MarkOrderStep{OrderID: "o-1", Step: messages.StepPaymentAuthorized}, "o-1"},
		{messages.RecordOrderCompensation{OrderID: "o-1", Step: messages.StepPaymentAuthorized, Action: "VoidPayment", Reason: "x"}, "o-1"},
		{messages.ConfirmOrder{OrderID: "o-1"}, "o-1"},
		{messages.CancelOrder{OrderID: "o-1", Reason: "changed mind", RequestedBy: "c-1"}, "o-1"},
		{messages.CompleteOrderCancellation{OrderID: "o-1", Code: errcode.InventoryUnavailable, Message: "sold out"}, "o-1"},
		{messages.FailOrder{OrderID: "o-1", Code: errcode.CompensationFailed, Message: "void failed"}, "o-1"},
		{messages.CreateProduct{ProductID: "p-1", SKU: "W-1", Name: "Widget", Price: 2999, InitialStock: 10}, "p-1"},
		{messages.RestockProduct{ProductID: "p-1", Quantity: 5}, "p-1"},
		{messages.ReserveStock{ProductID: "p-1", OrderID: "o-1", Quantity: 2}, "p-1"},
		{messages.ReleaseStock{ProductID: "p-1", OrderID: "o-1"}, "p-1"},
		{messages.CommitStock{ProductID: "p-1", OrderID: "o-1"}, "p-1"},
		{messages.RegisterCustomer{CustomerID: "c-1", Email: "a@example.com", Name: "Ann", InitialCredit: 10000}, "c-1"},
		{messages.AddFunds{CustomerID: "c-1", Amount: 500}, "c-1"},
		{messages.AuthorizePayment{CustomerID: "c-1", OrderID: "o-1", Amount: 5998}, "c-1"},
		{messages.VoidPayment{CustomerID: "c-1", OrderID: "o-1"}, "c-1"},
		{messages.CapturePayment{CustomerID: "c-1", OrderID: "o-1"}, "c-1"},
	}
}

func TestEventsRoundTripThroughRegistry(t *testing.T) {
	t.Parallel()

	samples := sampleEvents()
	var seen []string
	for _, s := range samples {
		ev, stream := s.msg, s.id
		t.Run(ev.EventType(), func(t *testing.T) {
			t.Parallel()
			require.Equal(t, stream, ev.AggregateID())

			data, err := json.Marshal(ev)
			require.NoError(t, err)
			got, err := messages.DecodeEvent(ev.EventType(), data)
			require.NoError(t, err)
			require.IsType(t, ev, got, "decoded as a value, not a pointer")
			require.Equal(t, ev, got)
			require.Equal(t, reflect.Struct, reflect.TypeOf(got).Kind())
		})
		seen = append(seen, ev.EventType())
	}
	require.ElementsMatch(t, messages.EventTypes(), seen, "every registered event has a sample and vice versa")
}

func TestCommandsRoundTripThroughRegistry(t *testing.T) {
	t.Parallel()

	samples := sampleCommands()
	var seen []string
	for _, s := range samples {
		cmd, key := s.msg, s.id
		t.Run(cmd.CommandName(), func(t *testing.T) {
			t.Parallel()
			require.Equal(t, key, cmd.AggregateID())

			data, err := json.Marshal(cmd)
			require.NoError(t, err)
			got, err := messages.DecodeCommand(cmd.CommandName(), data)
			require.NoError(t, err)
			require.IsType(t, cmd, got)
			require.Equal(t, cmd, got)
		})
		seen = append(seen, cmd.CommandName())
	}
	require.ElementsMatch(t, messages.CommandNames(), seen)
}

func TestNamesAreDottedByContext(t *testing.T) {
	t.Parallel()

	contexts := map[string]bool{"ordering": true, "inventory": true, "payments": true}
	for _, name := range append(messages.EventTypes(), messages.CommandNames()...) {
		ctx, typ, ok := strings.Cut(name, ".")
		require.True(t, ok, name)
		require.True(t, contexts[ctx], name)
		require.NotEmpty(t, typ, name)
	}
	require.Equal(t, "ordering.OrderPlaced", messages.OrderPlaced{}.EventType())
	require.Equal(t, "inventory.StockReserved", messages.StockReserved{}.EventType())
	require.Equal(t, "payments.PaymentAuthorized", messages.PaymentAuthorized{}.EventType())
}

func TestListsAreCopies(t *testing.T) {
	t.Parallel()

	types := messages.EventTypes()
	types[0] = "mutated"
	require.NotEqual(t, "mutated", messages.EventTypes()[0])

	names := messages.CommandNames()
	names[0] = "mutated"
	require.NotEqual(t, "mutated", messages.CommandNames()[0])
}

func TestDecodeRejectsUnknownAndMalformed(t *testing.T) {
	t.Parallel()

	_, err := messages.DecodeEvent("ordering.OrderVanished", []byte(`{}`))
	require.ErrorContains(t, err, "unknown event")
	_, err = messages.DecodeEvent("ordering.OrderPlaced", []byte(`{"orderId":`))
	require.Error(t, err)
	_, err = messages.DecodeEvent("ordering.OrderPlaced", nil)
	require.Error(t, err)
	_, err = messages.DecodeEvent("inventory.StockReserved", []byte(`{"quantity":"two"}`))
	require.Error(t, err)

	_, err = messages.DecodeCommand("ordering.Teleport", []byte(`{}`))
	require.ErrorContains(t, err, "unknown command")
	_, err = messages.DecodeCommand("ordering.PlaceOrder", []byte(`[]`))
	require.Error(t, err)
}

func TestDecodeToleratesNewFields(t *testing.T) {
	t.Parallel()

	ev, err := messages.DecodeEvent("inventory.StockReserved",
		[]byte(`{"productId":"p-1","orderId":"o-1","quantity":3,"addedLater":true}`))
	require.NoError(t, err)
	require.Equal(t, messages.StockReserved{ProductID: "p-1", OrderID: "o-1", Quantity: 3}, ev)
}

func TestJSONWireFormat(t *testing.T) {
	t.Parallel()

	data, err := json.Marshal(messages.OrderPlaced{
		OrderID: "o-1", CustomerID: "c-1",
		Items:    []messages.OrderLine{{ProductID: "p-1", ProductName: "W", SKU: "W-1", Quantity: 1, UnitPrice: 2999}},
		Total:    2999,
		Currency: "USD",
		PlacedAt: at,
	})
	require.NoError(t, err)
	require.JSONEq(t, `{
		"orderId":"o-1","customerId":"c-1",
		"items":[{"productId":"p-1","productName":"W","sku":"W-1","quantity":1,"unitPrice":2999}],
		"total":2999,"currency":"USD",
		"shippingAddress":{"street":"","city":"","zip":"","country":""},
		"billingAddress":{"street":"","city":"","zip":"","country":""},
		"paymentMethod":{"type":""},
		"placedAt":"2025-03-14T15:09:26Z"
	}`, string(data))

	data, err = json.Marshal(messages.OrderFailed{OrderID: "o-1", Code: errcode.SagaTimeout, Step: messages.StepPaymentAuthorized, At: at})
	require.NoError(t, err)
	require.JSONEq(t, `{"orderId":"o-1","code":"SAGA_TIMEOUT","step":"PAYMENT_AUTHORIZED","at":"2025-03-14T15:09:26Z"}`, string(data))
}

func TestMaskPaymentToken(t *testing.T) {
	t.Parallel()

	tests := []struct{ in, want string }{
		{"", ""},
		{"   ", ""},
		{"tok_4242424242424242", "****4242"},
		{" tok_1234 ", "****1234"},
		{"1234", "****"},
		{"12", "****"},
		{"****4242", "****4242"},
		{"****", "****"},
		{"****12", "****12"},
		{"****abcdefgh", "****efgh"},
		{"ümlaut-ÄÖÜß", "****ÄÖÜß"},
	}
	for _, tt := range tests {
		got := messages.MaskPaymentToken(tt.in)
		require.Equal(t, tt.want, got, "mask %q", tt.in)
		require.Equal(t, got, messages.MaskPaymentToken(got), "idempotent for %q", tt.in)
	}
}

// FuzzDecode feeds the registries arbitrary names and payloads, seeded with
// every real message: decoding a record or a command from the wire either
// yields a message of the named type or an error, never a panic, and what
// it yields encodes and decodes again to the same value.
func FuzzDecode(f *testing.F) {
	for _, s := range sampleEvents() {
		data, err := json.Marshal(s.msg)
		require.NoError(f, err)
		f.Add(s.msg.EventType(), data)
	}
	for _, s := range sampleCommands() {
		data, err := json.Marshal(s.msg)
		require.NoError(f, err)
		f.Add(s.msg.CommandName(), data)
	}
	f.Add("ordering.OrderPlaced", []byte(`{"items":[{"quantity":1e400}]}`))
	f.Add("ordering.PlaceOrder", []byte(`{"items":null,"orderId":"\u0000"}`))

	f.Fuzz(func(t *testing.T, name string, data []byte) {
		if e, err := messages.DecodeEvent(name, data); err == nil {
			require.Equal(t, name, e.EventType())
			again, err := json.Marshal(e)
			require.NoError(t, err)
			back, err := messages.DecodeEvent(name, again)
			require.NoError(t, err)
			require.Equal(t, normalize(t, e), normalize(t, back))
		}
		if c, err := messages.DecodeCommand(name, data); err == nil {
			require.Equal(t, name, c.CommandName())
			again, err := json.Marshal(c)
			require.NoError(t, err)
			back, err := messages.DecodeCommand(name, again)
			require.NoError(t, err)
			require.Equal(t, normalize(t, c), normalize(t, back))
		}
	})
}

// normalize is a message's JSON, the form compared after a round trip:
// decoding invalid UTF-8 replaces it, so the first decode and the second
// agree on bytes only once encoded.
func normalize(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
