package ordering

import (
	"fmt"
	"strings"

	"github.com/orderflow/orderflow/command/domain/limits"
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

// ValidatePlacement checks what the client chooses in a placement against
// the bounds of command/domain/limits: the ids, the idempotency key, the lines
// (product and quantity: 1 to limits.MaxOrderLines lines, each product on
// one line only), the currency, the addresses and the payment method. The
// application calls it before asking the catalog about the lines, so an
// oversized request costs no lookups; Place runs it again, so no port can
// skip it.
func ValidatePlacement(cmd messages.PlaceOrder) error {
	if err := limits.RequiredText("orderId", cmd.OrderID, limits.MaxIDLength); err != nil {
		return err
	}
	if err := limits.RequiredText("customerId", cmd.CustomerID, limits.MaxIDLength); err != nil {
		return err
	}
	if err := limits.RequiredText("idempotencyKey", cmd.IdempotencyKey, limits.MaxIdempotencyKeyLength); err != nil {
		return err
	}
	if n := len(cmd.Items); n < 1 || n > limits.MaxOrderLines {
		return limits.Invalid("items", limits.MaxOrderLines, "items: an order has 1 to %d lines, got %d", limits.MaxOrderLines, n)
	}
	lineOf := make(map[string]int, len(cmd.Items))
	for i, line := range cmd.Items {
		field := fmt.Sprintf("items[%d]", i)
		if err := limits.RequiredText(field+".productId", line.ProductID, limits.MaxIDLength); err != nil {
			return err
		}
		if j, dup := lineOf[line.ProductID]; dup {
			return invalid(field+".productId", fmt.Sprintf("%s.productId: product %s is on lines %d and %d; give each product one line with its total quantity", field, line.ProductID, j, i))
		}
		lineOf[line.ProductID] = i
		if err := limits.Count(field+".quantity", line.Quantity, 1, limits.MaxLineQuantity); err != nil {
			return err
		}
	}
	if cmd.Currency != "" && cmd.Currency != money.DefaultCurrency {
		return invalid("currency", "currency: only "+money.DefaultCurrency+" is supported")
	}
	if err := validateAddress("shippingAddress", cmd.ShippingAddress); err != nil {
		return err
	}
	if cmd.BillingAddress != (messages.Address{}) {
		if err := validateAddress("billingAddress", cmd.BillingAddress); err != nil {
			return err
		}
	}
	if err := limits.RequiredText("paymentMethod.type", cmd.PaymentMethod.Type, limits.MaxPaymentTypeLength); err != nil {
		return err
	}
	// Some methods (paying from the account) have no token.
	return limits.Text("paymentMethod.token", cmd.PaymentMethod.Token, limits.MaxPaymentTokenLength)
}

// priceLines checks what the catalog filled into the lines (name, sku and
// a unit price of at most limits.MaxAmount) and computes the total, which
// must not exceed limits.MaxAmount either. The lines were validated by
// ValidatePlacement.
func priceLines(lines []messages.OrderLine) (money.Amount, error) {
	var total money.Amount
	for i, line := range lines {
		field := fmt.Sprintf("items[%d]", i)
		if err := limits.RequiredText(field+".productName", line.ProductName, limits.MaxProductNameLength); err != nil {
			return 0, err
		}
		if err := limits.RequiredText(field+".sku", line.SKU, limits.MaxSKULength); err != nil {
			return 0, err
		}
		if err := limits.Amount(field+".unitPrice", line.UnitPrice, 1, limits.MaxAmount); err != nil {
			return 0, err
		}
		// Cannot overflow: at most MaxOrderLines lines of MaxLineQuantity
		// units at MaxAmount is far below the int64 range.
		total += line.UnitPrice * money.Amount(line.Quantity)
	}
	if err := limits.Amount("totalAmount", total, 1, limits.MaxAmount); err != nil {
		return 0, err
	}
	return total, nil
}

// validateAddress requires everything but State, which many countries lack.
func validateAddress(field string, a messages.Address) error {
	for _, f := range []struct {
		name, value string
		maxLen      int
		required    bool
	}{
		{"street", a.Street, limits.MaxStreetLength, true},
		{"city", a.City, limits.MaxCityLength, true},
		{"zip", a.Zip, limits.MaxZipLength, true},
		{"country", a.Country, limits.MaxCountryLength, true},
		{"state", a.State, limits.MaxStateLength, false},
	} {
		check := limits.Text
		if f.required {
			check = limits.RequiredText
		}
		if err := check(field+"."+f.name, f.value, f.maxLen); err != nil {
			return err
		}
	}
	return nil
}
