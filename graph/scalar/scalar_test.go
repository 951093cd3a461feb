package scalar_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/graph/scalar"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
)

func TestDecimal(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]money.Amount{"29.99": 2999, "5": 500, "0.5": 50, "-1.20": -120} {
		got, err := scalar.UnmarshalDecimal(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []any{29.99, 10, json.Number("10"), "1.234", "1e3", "", ".5", "1,00", nil} {
		_, err := scalar.UnmarshalDecimal(in)
		require.True(t, errcode.Is(err, errcode.InvalidOrderData), "%#v: %v", in, err)
	}
	var buf bytes.Buffer
	scalar.MarshalDecimal(2999).MarshalGQL(&buf)
	require.Equal(t, `"29.99"`, buf.String())
}

func TestInt(t *testing.T) {
	t.Parallel()
	for in, want := range map[any]int{int64(3): 3, 7: 7, json.Number("-4"): -4, int64(2147483647): 2147483647} {
		got, err := scalar.UnmarshalInt(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got)
	}
	for _, in := range []any{"1", json.Number("1.5"), 1.0, int64(1) << 31, -(int64(1) << 31) - 1, true, nil} {
		_, err := scalar.UnmarshalInt(in)
		require.True(t, errcode.Is(err, errcode.InvalidOrderData), "%#v: %v", in, err)
	}
}

func TestTime(t *testing.T) {
	t.Parallel()
	got, err := scalar.UnmarshalTime("2026-01-02T15:04:05+02:00")
	require.NoError(t, err)
	require.True(t, got.Equal(time.Date(2026, 1, 2, 13, 4, 5, 0, time.UTC)))
	for _, in := range []any{"yesterday", "2026-01-02", 1700000000, nil} {
		_, err := scalar.UnmarshalTime(in)
		require.True(t, errcode.Is(err, errcode.InvalidOrderData), "%#v: %v", in, err)
	}
	var buf bytes.Buffer
	scalar.MarshalTime(time.Date(2026, 1, 2, 15, 4, 5, 0, time.FixedZone("x", 7200))).MarshalGQL(&buf)
	require.Equal(t, `"2026-01-02T13:04:05Z"`, buf.String())
}
