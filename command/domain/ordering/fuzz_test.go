package ordering_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/command/domain/limits"
	"github.com/orderflow/orderflow/command/domain/ordering"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/messages"
)

// FuzzPlace feeds Place placements built from arbitrary text, counts and
// amounts; repeat stretches the street (the field of issue 11's 2 MB
// event) and the product name far beyond any bound. A placement is either
// refused as INVALID_ORDER_DATA naming a field, or accepted with an
// OrderPlaced event that keeps every bound and, marshalled as the event
// store and the relay send it, fits a Kafka message.
func FuzzPlace(f *testing.F) {
	f.Add("k-1", "p-1", "Widget", "W-1", 2, int64(2999), uint8(2), uint8(0), "1 Main St", uint32(1), "Springfield", "12345", "US", "", "card", "tok_4242", false)
	f.Add("k-2", "p", "Königstraße", "東京", 10_000, int64(1_000_000_000_00), uint8(50), uint8(0), "<&>", uint32(200), "東京都", "100", "日本", "", "card", "", true)
	f.Add(" ", "p", "n", "s", 1, int64(1), uint8(1), uint8(0), "x", uint32(1<<20), "c", "z", "US", "", "card", "t", false)
	f.Add("k", "p", "n", "s", 2147483647, int64(100), uint8(1), uint8(0), "x", uint32(1), "c", "z", "US", "", "card", "t", false)
	f.Add("k", "p", "n", "s", 1, int64(100), uint8(3), uint8(2), "x", uint32(1), "c", "z", "US", "", "card", "t", false)
	f.Add("k", "p", "n", "s", 1, int64(100), uint8(255), uint8(0), "x", uint32(1), "c", "z", "US", "IL", "card", "t", true)
	f.Add("k\x00", "p\n", "\u00a0", "s", 0, int64(-1), uint8(0), uint8(0), "\xff", uint32(0), "\u0085", "", " ", "\t", "", "", false)

	f.Fuzz(func(t *testing.T, key, productID, name, sku string, quantity int, price int64, nLines, distinct uint8,
		street string, repeat uint32, city, zip, country, state, payType, token string, billing bool) {
		// Up to 2 MiB of street, the size of the event.
		streetRepeat := min(int(repeat%(2<<20)), (2<<20)/max(len(street), 1))
		cmd := messages.PlaceOrder{
			OrderID:        "o-" + key,
			CustomerID:     "c-1",
			IdempotencyKey: key,
			ShippingAddress: messages.Address{
				Street: strings.Repeat(street, streetRepeat), City: city, Zip: zip, Country: country, State: state,
			},
			PaymentMethod: messages.PaymentMethod{Type: payType, Token: token},
		}
		if billing {
			cmd.BillingAddress = messages.Address{Street: street, City: city, Zip: zip, Country: country, State: state}
		}
		for i := range int(nLines) {
			id := productID
			if distinct > 0 { // distinct products, or lines repeating them
				id += "-" + strconv.Itoa(i%int(distinct))
			} else {
				id += "-" + strconv.Itoa(i)
			}
			cmd.Items = append(cmd.Items, messages.OrderLine{
				ProductID: id, ProductName: strings.Repeat(name, 1+i), SKU: sku, Quantity: quantity, UnitPrice: money.Amount(price),
			})
		}

		o := &ordering.Order{}
		events, err := o.Place(cmd, now)
		require.Zero(t, o.Version(), "a decision never mutates")
		if err != nil {
			var coded *errcode.Error
			require.ErrorAs(t, err, &coded)
			require.Equal(t, errcode.InvalidOrderData, coded.Code, err.Error())
			require.NotEmpty(t, coded.Details["field"], err.Error())
			require.Empty(t, events)
			require.Less(t, len(coded.Message), 400, "a refusal does not echo the input")
			return
		}

		require.Len(t, events, 1)
		placed := events[0].(messages.OrderPlaced)
		payload, err := json.Marshal(placed)
		require.NoError(t, err)
		require.LessOrEqual(t, len(payload), messages.MaxEventBytes, "an accepted order always fits a Kafka message")

		require.NoError(t, ordering.ValidatePlacement(cmd), "Place accepts only what ValidatePlacement does")
		require.LessOrEqual(t, len(placed.Items), limits.MaxOrderLines)
		seen := map[string]bool{}
		var total money.Amount
		for _, line := range placed.Items {
			require.False(t, seen[line.ProductID], "one line per product")
			seen[line.ProductID] = true
			require.True(t, line.Quantity >= 1 && line.Quantity <= limits.MaxLineQuantity)
			require.LessOrEqual(t, utf8.RuneCountInString(line.ProductName), limits.MaxProductNameLength)
			total += line.UnitPrice * money.Amount(line.Quantity)
		}
		require.Equal(t, total, placed.Total)
		require.True(t, placed.Total >= 1 && placed.Total <= limits.MaxAmount)
		require.LessOrEqual(t, utf8.RuneCountInString(placed.ShippingAddress.Street), limits.MaxStreetLength)
	})
}
