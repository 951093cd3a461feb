package scalar

import (
	"encoding/json"
	"io"
	"math"
	"strconv"

	"github.com/99designs/gqlgen/graphql"

	"github.com/orderflow/orderflow/internal/errcode"
)

// MarshalInt writes n as a JSON number.
func MarshalInt(n int) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Itoa(n))
	})
}

// UnmarshalInt is the GraphQL Int as the specification defines it: a
// signed 32-bit integer given as a number. gqlgen's built-in Int also takes
// strings such as "1" and 64-bit values, which would let a quantity arrive
// in the wrong type or far out of any sensible range; both are
// INVALID_ORDER_DATA here.
func UnmarshalInt(v any) (int, error) {
	var n int64
	switch v := v.(type) {
	case int:
		n = int64(v)
	case int32:
		n = int64(v)
	case int64:
		n = v
	case json.Number:
		i, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return 0, errcode.New(errcode.InvalidOrderData, "Int must be a whole number, got %.40s", v)
		}
		n = i
	default:
		return 0, errcode.New(errcode.InvalidOrderData, "Int must be a number, got %T", v)
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, errcode.New(errcode.InvalidOrderData, "Int must fit in 32 bits, got %d", n)
	}
	return int(n), nil
}
