// Package scalar maps GraphQL custom scalars onto domain types.
package scalar

import (
	"io"
	"strconv"

	"github.com/99designs/gqlgen/graphql"

	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
)

// MarshalDecimal writes an amount of minor units as a quoted decimal string
// with two fraction digits, e.g. "29.99": clients never see floats.
func MarshalDecimal(a money.Amount) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(a.String()))
	})
}

// UnmarshalDecimal accepts only the decimal string form; a JSON number is
// refused because floats cannot carry money exactly, and so are exponents,
// NaN, infinities and more than two fraction digits. It checks only the
// form: the bounds of each amount (sign, maximum) are the domain's.
func UnmarshalDecimal(v any) (money.Amount, error) {
	s, ok := v.(string)
	if !ok {
		return 0, errcode.New(errcode.InvalidOrderData, "Decimal must be a string such as \"29.99\", got %T", v)
	}
	a, err := money.Parse(s)
	if err != nil {
		return 0, errcode.New(errcode.InvalidOrderData, "invalid Decimal (a string such as \"29.99\": digits, at most two after the point, no exponent): %v", err)
	}
	return a, nil
}
