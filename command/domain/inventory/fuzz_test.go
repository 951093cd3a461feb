package inventory_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/command/domain/inventory"
	"github.com/orderflow/orderflow/command/domain/limits"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/messages"
)

// FuzzProduct creates a product from arbitrary input (repeat stretches the
// name up to a megabyte), then restocks and sells it. Every decision is
// either an INVALID_ORDER_DATA refusal naming a field or events that fit a
// Kafka message, and the product's counts never leave the 32 bits they are
// served and indexed as.
func FuzzProduct(f *testing.F) {
	f.Add("W-1", "Widget", uint32(1), int64(2999), int64(10), int64(5), int64(3))
	f.Add("東京", "Königstraße", uint32(200), int64(1_000_000_000_00), int64(2147483647), int64(1), int64(0))
	f.Add("S", "n", uint32(1<<20), int64(1), int64(0), int64(2147483647), int64(1))
	f.Add("S", "n", uint32(1), int64(100), int64(15), int64(2147483647), int64(15))
	f.Add(" ", "\t", uint32(0), int64(-1), int64(-1), int64(-5), int64(-5))
	f.Add("S\x00", "n\u0085", uint32(3), int64(1<<62), int64(1<<40), int64(1<<40), int64(1<<40))

	f.Fuzz(func(t *testing.T, sku, name string, repeat uint32, price, stock, restock, sell int64) {
		p := &inventory.Product{}
		cmd := messages.CreateProduct{
			ProductID: productID, SKU: sku, Price: money.Amount(price), InitialStock: int(stock),
			Name: strings.Repeat(name, min(int(repeat%(1<<20)), (1<<20)/max(len(name), 1))),
		}
		decide(t, p, func() ([]messages.Event, error) { return p.Create(cmd) })
		if p.Version() == 0 {
			return
		}
		decide(t, p, func() ([]messages.Event, error) { return p.Restock(int(restock)) })
		decide(t, p, func() ([]messages.Event, error) { return p.Reserve("o-1", int(sell)) })
		decide(t, p, func() ([]messages.Event, error) { return p.Commit("o-1") })
		decide(t, p, func() ([]messages.Event, error) { return p.Restock(int(restock)) })
	})
}

// decide runs one decision and applies its events, checking the outcome.
func decide(t *testing.T, p *inventory.Product, decision func() ([]messages.Event, error)) {
	t.Helper()
	version := p.Version()
	events, err := decision()
	require.Equal(t, version, p.Version(), "a decision never mutates")
	if err != nil {
		require.Empty(t, events)
		var coded *errcode.Error
		require.ErrorAs(t, err, &coded)
		if coded.Code == errcode.Conflict {
			return // committing what was not reserved
		}
		require.Equal(t, errcode.InvalidOrderData, coded.Code, err.Error())
		require.NotEmpty(t, coded.Details["field"], err.Error())
		require.Less(t, len(coded.Message), 400, "a refusal does not echo the input")
		return
	}
	for _, e := range events {
		payload, err := json.Marshal(e)
		require.NoError(t, err)
		require.LessOrEqual(t, len(payload), messages.MaxEventBytes)
		p.Apply(e)
	}
	for _, n := range []int{p.OnHand(), p.Reserved(), p.Available(), p.Committed(), p.OnHand() + p.Committed()} {
		require.True(t, n >= 0 && n <= limits.MaxStock, "counts stay within 32 bits: %d", n)
	}
}
