package ordering

import (
	"fmt"
	"math"
	"strings"

	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/messages"
)

// invalid builds the INVALID_ORDER_DATA error every validation returns,
// naming the field so the API can point at it.
func invalid(field, msg string) error {
	return errcode.New(errcode.InvalidOrderData, "%s", msg).With("field", field)
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }

// priceLines validates the lines, merges lines of the same product (so the
// saga reserves each product once per order) and computes the total with
// overflow checks.
func priceLines(lines []messages.OrderLine) ([]messages.OrderLine, money.Amount, error) {
	if len(lines) == 0 {
		return nil, 0, invalid("items", "an order needs at least one item")
	}
	merged := make([]messages.OrderLine, 0, len(lines))
	index := make(map[string]int, len(lines))
	for i, line := range lines {
		field := fmt.Sprintf("items[%d]", i)
		switch {
		case blank(line.ProductID):
			return nil, 0, invalid(field+".productId", "product id is required")
		case blank(line.ProductName):
			return nil, 0, invalid(field+".productName", "product name is required")
		case line.Quantity <= 0:
			return nil, 0, invalid(field+".quantity", "quantity must be positive")
		case line.UnitPrice <= 0:
			return nil, 0, invalid(field+".unitPrice", "unit price must be positive")
		}
		j, seen := index[line.ProductID]
		if !seen {
			index[line.ProductID] = len(merged)
			merged = append(merged, line)
			continue
		}
		if merged[j].UnitPrice != line.UnitPrice {
			return nil, 0, invalid(field+".unitPrice", "product "+line.ProductID+" appears with two prices")
		}
		if line.Quantity > math.MaxInt-merged[j].Quantity {
			return nil, 0, invalid(field+".quantity", "quantity is too large")
		}
		merged[j].Quantity += line.Quantity
	}

	var total money.Amount
	for _, line := range merged {
		sub, err := line.UnitPrice.Mul(int64(line.Quantity))
		if err == nil {
			total, err = total.Add(sub)
		}
		if err != nil {
			return nil, 0, invalid("items", "order total is too large")
		}
	}
	return merged, total, nil
}

// validateAddress requires everything but State, which many countries lack.
func validateAddress(field string, a messages.Address) error {
	switch {
	case blank(a.Street):
		return invalid(field+".street", "street is required")
	case blank(a.City):
		return invalid(field+".city", "city is required")
	case blank(a.Zip):
		return invalid(field+".zip", "zip is required")
	case blank(a.Country):
		return invalid(field+".country", "country is required")
	}
	return nil
}
