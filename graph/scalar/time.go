package scalar

import (
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/orderflow/orderflow/internal/errcode"
)

// MarshalTime writes t as an RFC 3339 timestamp in UTC. Unlike gqlgen's
// built-in Time it never writes null for the zero time, because every Time
// field of the contract is non-null and a null would turn into an error.
func MarshalTime(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(t.UTC().Format(time.RFC3339Nano)))
	})
}

// UnmarshalTime accepts an RFC 3339 timestamp string. A malformed value is
// INVALID_ORDER_DATA, so bad input is never reported as an internal error.
func UnmarshalTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, errcode.New(errcode.InvalidOrderData, "Time must be an RFC 3339 string such as \"2026-01-02T15:04:05Z\", got %T", v)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errcode.New(errcode.InvalidOrderData, "invalid Time %q: want RFC 3339", s)
	}
	return t, nil
}
