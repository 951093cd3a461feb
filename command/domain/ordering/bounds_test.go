package ordering_test

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/command/domain/limits"
	"github.com/orderflow/orderflow/command/domain/ordering"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/messages"
)

// text returns n characters of a letter outside ASCII: bounds count
// characters, not bytes.
func text(n int) string { return strings.Repeat("é", n) }

// lines returns n distinct, valid order lines.
func lines(n int) []messages.OrderLine {
	out := make([]messages.OrderLine, n)
	for i := range out {
		out[i] = messages.OrderLine{ProductID: fmt.Sprintf("p-%d", i), ProductName: "Widget", SKU: "W", Quantity: 1, UnitPrice: 100}
	}
	return out
}

func TestPlaceBounds(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		edit  func(*messages.PlaceOrder)
		field string
		limit any // the bound the refusal names; nil for a rule without a number
	}{
		{"order id too long", func(c *messages.PlaceOrder) { c.OrderID = text(limits.MaxIDLength + 1) }, "orderId", limits.MaxIDLength},
		{"customer id too long", func(c *messages.PlaceOrder) { c.CustomerID = text(limits.MaxIDLength + 1) }, "customerId", limits.MaxIDLength},
		{"no idempotency key", func(c *messages.PlaceOrder) { c.IdempotencyKey = "" }, "idempotencyKey", nil},
		{"blank idempotency key", func(c *messages.PlaceOrder) { c.IdempotencyKey = " \t" }, "idempotencyKey", nil},
		{"idempotency key too long", func(c *messages.PlaceOrder) { c.IdempotencyKey = text(limits.MaxIdempotencyKeyLength + 1) }, "idempotencyKey", limits.MaxIdempotencyKeyLength},
		{"idempotency key with NUL", func(c *messages.PlaceOrder) { c.IdempotencyKey = "k\x00" }, "idempotencyKey", nil},
		{"too many lines", func(c *messages.PlaceOrder) { c.Items = lines(limits.MaxOrderLines + 1) }, "items", limits.MaxOrderLines},
		{"10,000 lines", func(c *messages.PlaceOrder) { c.Items = lines(10_000) }, "items", limits.MaxOrderLines},
		{"product id too long", func(c *messages.PlaceOrder) { c.Items[1].ProductID = text(limits.MaxIDLength + 1) }, "items[1].productId", limits.MaxIDLength},
		{"product id with a line break", func(c *messages.PlaceOrder) { c.Items[1].ProductID = "p\n2" }, "items[1].productId", nil},
		{"two lines of one product", func(c *messages.PlaceOrder) { c.Items[1].ProductID = c.Items[0].ProductID }, "items[1].productId", nil},
		{"quantity above the maximum", func(c *messages.PlaceOrder) { c.Items[0].Quantity = limits.MaxLineQuantity + 1 }, "items[0].quantity", limits.MaxLineQuantity},
		{"quantity 2147483647", func(c *messages.PlaceOrder) { c.Items[0].Quantity = math.MaxInt32 }, "items[0].quantity", limits.MaxLineQuantity},
		{"quantity beyond 32 bits", func(c *messages.PlaceOrder) { c.Items[0].Quantity = math.MaxInt }, "items[0].quantity", limits.MaxLineQuantity},
		{"product name too long", func(c *messages.PlaceOrder) { c.Items[0].ProductName = text(limits.MaxProductNameLength + 1) }, "items[0].productName", limits.MaxProductNameLength},
		{"sku too long", func(c *messages.PlaceOrder) { c.Items[0].SKU = text(limits.MaxSKULength + 1) }, "items[0].sku", limits.MaxSKULength},
		{"no sku", func(c *messages.PlaceOrder) { c.Items[0].SKU = "" }, "items[0].sku", nil},
		{"unit price above the maximum", func(c *messages.PlaceOrder) { c.Items[0].UnitPrice = limits.MaxAmount + 1 }, "items[0].unitPrice", limits.MaxAmount.String()},
		{
			"total above the maximum",
			func(c *messages.PlaceOrder) { c.Items[0].UnitPrice, c.Items[0].Quantity = limits.MaxAmount, 2 },
			"totalAmount", limits.MaxAmount.String(),
		},
		{"1 MB street", func(c *messages.PlaceOrder) { c.ShippingAddress.Street = strings.Repeat("x", 1<<20) }, "shippingAddress.street", limits.MaxStreetLength},
		{"street too long", func(c *messages.PlaceOrder) { c.ShippingAddress.Street = text(limits.MaxStreetLength + 1) }, "shippingAddress.street", limits.MaxStreetLength},
		{"street of white space", func(c *messages.PlaceOrder) { c.ShippingAddress.Street = "\u00a0 \u3000" }, "shippingAddress.street", nil},
		{"street with a line break", func(c *messages.PlaceOrder) { c.ShippingAddress.Street = "1 Main St\nApt 2" }, "shippingAddress.street", nil},
		{"street with invalid UTF-8", func(c *messages.PlaceOrder) { c.ShippingAddress.Street = "1 Main St\xff" }, "shippingAddress.street", nil},
		{"city too long", func(c *messages.PlaceOrder) { c.ShippingAddress.City = text(limits.MaxCityLength + 1) }, "shippingAddress.city", limits.MaxCityLength},
		{"city with a C1 control", func(c *messages.PlaceOrder) { c.ShippingAddress.City = "Spring\u0085field" }, "shippingAddress.city", nil},
		{"zip too long", func(c *messages.PlaceOrder) { c.ShippingAddress.Zip = text(limits.MaxZipLength + 1) }, "shippingAddress.zip", limits.MaxZipLength},
		{"country too long", func(c *messages.PlaceOrder) { c.ShippingAddress.Country = text(limits.MaxCountryLength + 1) }, "shippingAddress.country", limits.MaxCountryLength},
		{"state too long", func(c *messages.PlaceOrder) { c.ShippingAddress.State = text(limits.MaxStateLength + 1) }, "shippingAddress.state", limits.MaxStateLength},
		{"state of white space", func(c *messages.PlaceOrder) { c.ShippingAddress.State = "  " }, "shippingAddress.state", nil},
		{
			"billing street too long",
			func(c *messages.PlaceOrder) {
				c.BillingAddress = home
				c.BillingAddress.Street = text(limits.MaxStreetLength + 1)
			},
			"billingAddress.street", limits.MaxStreetLength,
		},
		{
			"billing state with DEL",
			func(c *messages.PlaceOrder) {
				c.BillingAddress = home
				c.BillingAddress.State = "I\x7fL"
			},
			"billingAddress.state", nil,
		},
		{"no payment type", func(c *messages.PlaceOrder) { c.PaymentMethod.Type = " " }, "paymentMethod.type", nil},
		{"payment type too long", func(c *messages.PlaceOrder) { c.PaymentMethod.Type = text(limits.MaxPaymentTypeLength + 1) }, "paymentMethod.type", limits.MaxPaymentTypeLength},
		{"payment token too long", func(c *messages.PlaceOrder) { c.PaymentMethod.Token = text(limits.MaxPaymentTokenLength + 1) }, "paymentMethod.token", limits.MaxPaymentTokenLength},
		{"payment token with a tab", func(c *messages.PlaceOrder) { c.PaymentMethod.Token = "tok\t4242" }, "paymentMethod.token", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := placeOrder()
			tt.edit(&cmd)
			events, err := (&ordering.Order{}).Place(cmd, now)
			require.Empty(t, events)
			requireBound(t, err, tt.field, tt.limit)
			if !filledByCatalog(tt.field) {
				requireBound(t, ordering.ValidatePlacement(cmd), tt.field, tt.limit)
			}
		})
	}
}

// filledByCatalog tells the fields the application copies from the
// catalog, which only Place checks: ValidatePlacement runs before them.
func filledByCatalog(field string) bool {
	for _, suffix := range []string{".productName", ".sku", ".unitPrice", "totalAmount"} {
		if strings.HasSuffix(field, suffix) {
			return true
		}
	}
	return false
}

// requireBound checks a refusal: INVALID_ORDER_DATA naming the field and,
// where the rule has one, the bound.
func requireBound(t *testing.T, err error, field string, limit any) {
	t.Helper()
	require.Error(t, err)
	var coded *errcode.Error
	require.ErrorAs(t, err, &coded)
	require.Equal(t, errcode.InvalidOrderData, coded.Code, err.Error())
	require.Equal(t, field, coded.Details["field"], err.Error())
	require.Contains(t, coded.Message, field, "the message names the field")
	if limit != nil {
		require.Equal(t, limit, coded.Details["limit"], err.Error())
		require.Contains(t, coded.Message, fmt.Sprint(limit))
	}
	require.Less(t, len(coded.Message), 300, "the refusal does not echo the value")
}

// An order with every field at its bound, in the characters JSON escapes
// widest ("<" becomes \u003c), is accepted, and its OrderPlaced event is
// far below what one Kafka message carries.
func TestLargestOrderFitsAKafkaMessage(t *testing.T) {
	t.Parallel()

	widest := func(n int) string { return strings.Repeat("<", n) }
	id := func(i int) string { return fmt.Sprintf("%0*d", limits.MaxIDLength, i) }
	addr := messages.Address{
		Street: widest(limits.MaxStreetLength), City: widest(limits.MaxCityLength), Zip: widest(limits.MaxZipLength),
		Country: widest(limits.MaxCountryLength), State: widest(limits.MaxStateLength),
	}
	cmd := messages.PlaceOrder{
		OrderID:         id(0),
		CustomerID:      id(1),
		IdempotencyKey:  widest(limits.MaxIdempotencyKeyLength),
		ShippingAddress: addr,
		BillingAddress:  addr,
		PaymentMethod:   messages.PaymentMethod{Type: widest(limits.MaxPaymentTypeLength), Token: widest(limits.MaxPaymentTokenLength)},
	}
	for i := range limits.MaxOrderLines {
		cmd.Items = append(cmd.Items, messages.OrderLine{
			ProductID: id(i), ProductName: widest(limits.MaxProductNameLength), SKU: widest(limits.MaxSKULength),
			Quantity: limits.MaxLineQuantity, UnitPrice: 1,
		})
	}
	cmd.Items[0].Quantity = 1 // lines differ in more than the id
	events, err := (&ordering.Order{}).Place(cmd, now)
	require.NoError(t, err)
	payload, err := json.Marshal(events[0])
	require.NoError(t, err)
	t.Logf("largest OrderPlaced: %d bytes", len(payload))
	require.Less(t, len(payload), messages.MaxEventBytes/4, "the largest order leaves ample room below the Kafka limit")
}

func TestPlaceAcceptsLettersOfAnyScriptUpToTheBounds(t *testing.T) {
	t.Parallel()

	cmd := placeOrder()
	cmd.ShippingAddress = messages.Address{Street: "Königstraße 1", City: "東京都", Zip: "100-0001", Country: "日本", State: "Île-de-France"}
	cmd.IdempotencyKey = text(limits.MaxIdempotencyKeyLength)
	cmd.Items = lines(limits.MaxOrderLines) // 1 unit at 1.00 each
	cmd.Items[0].ProductName = text(limits.MaxProductNameLength)
	cmd.Items[0].Quantity = limits.MaxLineQuantity
	// The rest of the maximum total goes to line 1.
	cmd.Items[1].UnitPrice = limits.MaxAmount - 100*limits.MaxLineQuantity - 100*(limits.MaxOrderLines-2)

	events, err := (&ordering.Order{}).Place(cmd, now)
	require.NoError(t, err)
	placed := events[0].(messages.OrderPlaced)
	require.Len(t, placed.Items, limits.MaxOrderLines)
	require.Equal(t, limits.MaxAmount, placed.Total, "the total may reach the maximum exactly")
}

func TestRequestCancellationBoundsTheReason(t *testing.T) {
	t.Parallel()

	o := setup(t)
	for _, reason := range []string{text(limits.MaxReasonLength + 1), strings.Repeat("x", 1<<20), "changed\nmind", "  "} {
		events, err := o.RequestCancellation(reason, "c-1", now)
		require.Empty(t, events)
		requireBound(t, err, "reason", nil)
	}
	events, err := o.RequestCancellation(text(limits.MaxReasonLength), "c-1", now)
	require.NoError(t, err)
	require.Len(t, events, 1)
}
