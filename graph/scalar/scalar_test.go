package scalar_test

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
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
	for _, in := range []any{
		29.99, 10, json.Number("10"), "1.234", "1e3", "1E3", "", ".5", "1,00", nil,
		"NaN", "nan", "Infinity", "-Inf", "0x10", "1_000", " 1", "1 ", "１", "٣", "--1", "+-1", "1.", "-", "0.001",
		"92233720368547758.08", strings.Repeat("9", 1<<20),
	} {
		_, err := scalar.UnmarshalDecimal(in)
		require.True(t, errcode.Is(err, errcode.InvalidOrderData), "%#v: %v", in, err)
		require.Less(t, len(err.Error()), 600, "the error never echoes a long input")
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
	for _, in := range []any{
		"1", json.Number("1.5"), json.Number("1e3"), json.Number(strings.Repeat("9", 1<<20)), 1.0,
		int64(1) << 31, -(int64(1) << 31) - 1, true, nil,
	} {
		_, err := scalar.UnmarshalInt(in)
		require.True(t, errcode.Is(err, errcode.InvalidOrderData), "%#v: %v", in, err)
		require.Less(t, len(err.Error()), 600, "the error never echoes a long input")
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

// FuzzUnmarshalDecimal: whatever a client sends as a Decimal, the answer is
// the amount money.Parse reads or a short INVALID_ORDER_DATA error, never a
// panic; an accepted amount is served back in a form that reads the same.
func FuzzUnmarshalDecimal(f *testing.F) {
	for _, seed := range []string{"29.99", "-1.20", "+3", "1e3", "NaN", "Infinity", "0x10", "1.234", "", "92233720368547758.08", "١"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := scalar.UnmarshalDecimal(s)
		want, parseErr := money.Parse(s)
		if parseErr != nil {
			require.True(t, errcode.Is(err, errcode.InvalidOrderData), "%q: %v", s, err)
			require.Less(t, len(err.Error()), 600, "at most 40 characters of the input are quoted")
			return
		}
		require.NoError(t, err)
		require.Equal(t, want, got)
		var buf bytes.Buffer
		scalar.MarshalDecimal(got).MarshalGQL(&buf)
		var served string
		require.NoError(t, json.Unmarshal(buf.Bytes(), &served))
		back, err := scalar.UnmarshalDecimal(served)
		require.NoError(t, err)
		require.Equal(t, got, back)
	})
}

// FuzzUnmarshalInt: a number literal of any form becomes a 32-bit int or a
// short INVALID_ORDER_DATA error, never a panic.
func FuzzUnmarshalInt(f *testing.F) {
	for _, seed := range []string{"1", "-4", "2147483647", "2147483648", "1.5", "1e3", "NaN", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := scalar.UnmarshalInt(json.Number(s))
		if err != nil {
			require.True(t, errcode.Is(err, errcode.InvalidOrderData), "%q: %v", s, err)
			require.Less(t, len(err.Error()), 600, "at most 40 characters of the input are quoted")
			return
		}
		require.True(t, n >= math.MinInt32 && n <= math.MaxInt32, "%q", s)
		want, err := strconv.ParseInt(s, 10, 64)
		require.NoError(t, err, "only whole numbers are accepted: %q", s)
		require.EqualValues(t, want, n)
	})
}
