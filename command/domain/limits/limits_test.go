package limits_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/command/domain/limits"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
)

// requireRefusal checks err is INVALID_ORDER_DATA naming field, and, when
// limit is not nil, naming the limit in its message and details.
func requireRefusal(t *testing.T, err error, field string, limit any) {
	t.Helper()
	require.Error(t, err)
	var coded *errcode.Error
	require.ErrorAs(t, err, &coded)
	require.Equal(t, errcode.InvalidOrderData, coded.Code, err.Error())
	require.Equal(t, field, coded.Details["field"], err.Error())
	require.Contains(t, coded.Message, field)
	if limit != nil {
		require.Equal(t, limit, coded.Details["limit"], err.Error())
		require.Contains(t, coded.Message, fmt.Sprint(limit))
	}
	require.Less(t, len(coded.Message), 300, "a refusal never echoes the value")
}

func TestText(t *testing.T) {
	t.Parallel()

	accepted := []struct {
		name, value string
	}{
		{"empty (optional)", ""},
		{"at the limit in ASCII", strings.Repeat("a", 10)},
		{"at the limit in letters of other scripts", strings.Repeat("東", 10)},
		{"accents and inner spaces", "Rue Église"},
		{"emoji", "🙂🙂"},
	}
	for _, tt := range accepted {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.NoError(t, limits.Text("f", tt.value, 10))
		})
	}

	refused := []struct {
		name, value string
		limit       any
	}{
		{"one character too many", strings.Repeat("é", 11), 10},
		{"1 MB", strings.Repeat("x", 1<<20), 10},
		{"only white space", " \t ", nil},
		{"only non-breaking and ideographic spaces", "\u00a0\u3000", nil},
		{"a line break", "a\nb", nil},
		{"a carriage return", "a\rb", nil},
		{"a tab", "a\tb", nil},
		{"NUL", "a\x00b", nil},
		{"DEL", "a\x7fb", nil},
		{"a C1 control", "a\u009bb", nil},
		{"invalid UTF-8", "a\xffb", nil},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requireRefusal(t, limits.Text("f", tt.value, 10), "f", tt.limit)
			requireRefusal(t, limits.RequiredText("f", tt.value, 10), "f", tt.limit)
		})
	}

	t.Run("required", func(t *testing.T) {
		t.Parallel()
		requireRefusal(t, limits.RequiredText("f", "", 10), "f", nil)
		require.NoError(t, limits.RequiredText("f", "x", 10))
	})
}

func TestEmail(t *testing.T) {
	t.Parallel()

	domain := "@example.com"
	for _, ok := range []string{"a@b", "ann@example.com", "jürgen@münchen.de", strings.Repeat("a", limits.MaxEmailLength-len(domain)) + domain} {
		require.NoError(t, limits.Email("email", ok), ok)
	}
	for _, bad := range []string{"", "ann.example.com", "@example.com", "ann@", "ann @example.com", "ann@exa\tmple.com", "ann@example.com\n"} {
		requireRefusal(t, limits.Email("email", bad), "email", nil)
	}
	requireRefusal(t, limits.Email("email", strings.Repeat("a", limits.MaxEmailLength-len(domain)+1)+domain), "email", limits.MaxEmailLength)
}

func TestCount(t *testing.T) {
	t.Parallel()

	for _, n := range []int{1, 5, 10} {
		require.NoError(t, limits.Count("q", n, 1, 10))
	}
	requireRefusal(t, limits.Count("q", 0, 1, 10), "q", 1)
	requireRefusal(t, limits.Count("q", -1, 1, 10), "q", 1)
	requireRefusal(t, limits.Count("q", 11, 1, 10), "q", 10)
}

func TestAmount(t *testing.T) {
	t.Parallel()

	for _, a := range []money.Amount{1, 2999, limits.MaxAmount} {
		require.NoError(t, limits.Amount("price", a, 1, limits.MaxAmount))
	}
	requireRefusal(t, limits.Amount("price", 0, 1, limits.MaxAmount), "price", "0.01")
	requireRefusal(t, limits.Amount("price", limits.MaxAmount+1, 1, limits.MaxAmount), "price", "1000000000.00")
}

// The bounds keep the numbers they produce inside the types that carry
// them: a GraphQL Int and the read models' integers for stock, exact
// float64 integers for money.
func TestBoundsFitTheirTypes(t *testing.T) {
	t.Parallel()

	require.Equal(t, 1<<31-1, limits.MaxStock)
	require.Less(t, int64(limits.MaxBalance), int64(1)<<53)
	require.Less(t, limits.MaxAmount, limits.MaxBalance)
	// The largest order total the lines could reach does not overflow
	// before it is compared with MaxAmount.
	require.Less(t, float64(limits.MaxOrderLines)*float64(limits.MaxLineQuantity)*float64(limits.MaxAmount), float64(1<<63-1))
}
