package inventory_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/command/domain/inventory"
	"github.com/orderflow/orderflow/command/domain/limits"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/messages"
)

// requireBound checks a refusal: INVALID_ORDER_DATA naming the field and,
// where the rule has one, the bound.
func requireBound(t *testing.T, events []messages.Event, err error, field string, limit any) {
	t.Helper()
	require.Empty(t, events)
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

func TestCreateBounds(t *testing.T) {
	t.Parallel()

	valid := messages.CreateProduct{ProductID: productID, SKU: "W-1", Name: "Widget", Price: 100, InitialStock: 5}
	tests := []struct {
		name  string
		edit  func(*messages.CreateProduct)
		field string
		limit any
	}{
		{"id too long", func(c *messages.CreateProduct) { c.ProductID = strings.Repeat("p", limits.MaxIDLength+1) }, "productId", limits.MaxIDLength},
		{"1 MB sku", func(c *messages.CreateProduct) { c.SKU = strings.Repeat("S", 1<<20) }, "sku", limits.MaxSKULength},
		{"sku too long", func(c *messages.CreateProduct) { c.SKU = strings.Repeat("é", limits.MaxSKULength+1) }, "sku", limits.MaxSKULength},
		{"sku with a line break", func(c *messages.CreateProduct) { c.SKU = "W\n1" }, "sku", nil},
		{"1 MB name", func(c *messages.CreateProduct) { c.Name = strings.Repeat("n", 1<<20) }, "name", limits.MaxProductNameLength},
		{"name too long", func(c *messages.CreateProduct) { c.Name = strings.Repeat("é", limits.MaxProductNameLength+1) }, "name", limits.MaxProductNameLength},
		{"name of non-breaking spaces", func(c *messages.CreateProduct) { c.Name = "\u00a0\u00a0" }, "name", nil},
		{"name with NUL", func(c *messages.CreateProduct) { c.Name = "Wid\x00get" }, "name", nil},
		{"name with invalid UTF-8", func(c *messages.CreateProduct) { c.Name = "Wid\xc3get" }, "name", nil},
		{"price above the maximum", func(c *messages.CreateProduct) { c.Price = limits.MaxAmount + 1 }, "price", limits.MaxAmount.String()},
		{"price at int64's end", func(c *messages.CreateProduct) { c.Price = math.MaxInt64 }, "price", limits.MaxAmount.String()},
		{"initial stock beyond 32 bits", func(c *messages.CreateProduct) { c.InitialStock = limits.MaxStock + 1 }, "initialStock", limits.MaxStock},
		{"initial stock at int's end", func(c *messages.CreateProduct) { c.InitialStock = math.MaxInt }, "initialStock", limits.MaxStock},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := valid
			tt.edit(&cmd)
			events, err := (&inventory.Product{}).Create(cmd)
			requireBound(t, events, err, tt.field, tt.limit)
		})
	}

	t.Run("at the bounds", func(t *testing.T) {
		t.Parallel()
		cmd := messages.CreateProduct{
			ProductID: strings.Repeat("p", limits.MaxIDLength),
			SKU:       "  " + strings.Repeat("é", limits.MaxSKULength) + " ", // trimmed first
			Name:      strings.Repeat("東", limits.MaxProductNameLength),
			Price:     limits.MaxAmount, InitialStock: limits.MaxStock,
		}
		events, err := (&inventory.Product{}).Create(cmd)
		require.NoError(t, err)
		require.Equal(t, strings.Repeat("é", limits.MaxSKULength), events[0].(messages.ProductCreated).SKU)
	})
}

// A product's lifetime stock (on hand plus sold) stays within 32 bits, so
// every count of it fits a GraphQL Int and the read model's integers.
func TestRestockKeepsLifetimeStockWithin32Bits(t *testing.T) {
	t.Parallel()

	t.Run("2147483647 more on a stocked product", func(t *testing.T) {
		t.Parallel()
		p := setup(t, 15)
		events, err := p.Restock(math.MaxInt32)
		requireBound(t, events, err, "quantity", limits.MaxStock)
	})

	t.Run("up to the bound exactly, then not one more", func(t *testing.T) {
		t.Parallel()
		p := setup(t, 15)
		apply(t, p)(p.Restock(limits.MaxStock - 15))
		require.Equal(t, limits.MaxStock, p.OnHand())
		events, err := p.Restock(1)
		requireBound(t, events, err, "quantity", limits.MaxStock)
	})

	t.Run("sold units count", func(t *testing.T) {
		t.Parallel()
		p := setup(t, limits.MaxStock)
		apply(t, p)(p.Reserve("o-1", 10))
		apply(t, p)(p.Commit("o-1"))
		require.Equal(t, limits.MaxStock-10, p.OnHand())
		events, err := p.Restock(1)
		requireBound(t, events, err, "quantity", limits.MaxStock)
	})

	t.Run("zero and negative", func(t *testing.T) {
		t.Parallel()
		p := setup(t, 15)
		for _, qty := range []int{0, -1, math.MinInt} {
			events, err := p.Restock(qty)
			requireBound(t, events, err, "quantity", 1)
		}
	})
}
