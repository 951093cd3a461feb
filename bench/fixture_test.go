package bench

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/money"
)

func setupFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{scarce: &productRef{ID: "scarce"}}
	for i := range 6 {
		f.products = append(f.products, &productRef{ID: fmt.Sprintf("p%d", i)})
	}
	for i := range 4 {
		f.customers = append(f.customers, &customerRef{ID: fmt.Sprintf("c%d", i)})
	}
	f.poor = []*customerRef{{ID: "poor"}}
	return f
}

func TestOrdersFollowTheirScenario(t *testing.T) {
	t.Parallel()
	f := setupFixture(t)
	price := money.Amount(150)
	for seq := range int64(200) {
		for _, sc := range Scenarios() {
			cust, lines, total := f.order(1, seq, sc, price)
			units := 0
			products := map[string]bool{}
			for _, l := range lines {
				require.GreaterOrEqual(t, l.Quantity, 1)
				require.LessOrEqual(t, l.Quantity, 3)
				require.False(t, products[l.ProductID], "lines name distinct products")
				products[l.ProductID] = true
				units += l.Quantity
			}
			require.Equal(t, price*money.Amount(units), total)
			switch sc {
			case OutOfStock:
				require.Equal(t, []OrderItem{{ProductID: "scarce", Quantity: 1}}, lines)
				require.NotEqual(t, "poor", cust.ID)
			case InsufficientFunds:
				require.Equal(t, "poor", cust.ID)
				require.Len(t, lines, 1)
				require.NotEqual(t, "scarce", lines[0].ProductID)
			case MultiLine:
				require.GreaterOrEqual(t, len(lines), 2)
				require.LessOrEqual(t, len(lines), 5)
			default:
				require.Len(t, lines, 1)
				require.NotEqual(t, "poor", cust.ID)
				require.NotEqual(t, "scarce", lines[0].ProductID)
			}
		}
	}

	// Same seed and sequence, same order.
	c1, l1, _ := f.order(7, 42, MultiLine, price)
	c2, l2, _ := f.order(7, 42, MultiLine, price)
	require.Equal(t, c1, c2)
	require.Equal(t, l1, l2)
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.JWTSecret, cfg.Rate = "s", 10
	require.NoError(t, cfg.Validate())
	require.Equal(t, "open 10/s", cfg.Model())

	both := cfg
	both.Concurrency = 4
	require.ErrorContains(t, both.Validate(), "not both")

	closed := cfg
	closed.Rate, closed.Concurrency = 0, 4
	require.NoError(t, closed.Validate())
	require.Equal(t, "closed 4", closed.Model())

	bad := cfg
	bad.URL, bad.JWTSecret, bad.Price, bad.E2E, bad.Products = "localhost:8080", "", "1.005", "push", 1
	err := bad.Validate()
	for _, want := range []string{"not an http(s) URL", "jwt secret", "price", "e2e", "multi-line orders need at least 2 products"} {
		require.ErrorContains(t, err, want)
	}
}
