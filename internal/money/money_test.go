package money_test

import (
	"math"
	"math/big"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/money"
)

func TestParse(t *testing.T) {
	t.Parallel()

	tests := []struct {
		in   string
		want money.Amount
	}{
		{"29.99", 2999},
		{"5", 500},
		{"0.5", 50},
		{"0.05", 5},
		{"1000.00", 100000},
		{"0", 0},
		{"-0", 0},
		{"+3", 300},
		{"-1.20", -120},
		{"007.10", 710},
		{"92233720368547758.07", math.MaxInt64},
		{"-92233720368547758.08", math.MinInt64},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := money.Parse(tt.in)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()

	tests := []struct {
		in   string
		want error
	}{
		{"", money.ErrSyntax},
		{"-", money.ErrSyntax},
		{"+", money.ErrSyntax},
		{".", money.ErrSyntax},
		{".5", money.ErrSyntax},
		{"5.", money.ErrSyntax},
		{"1.234", money.ErrSyntax},
		{"1.2.3", money.ErrSyntax},
		{"abc", money.ErrSyntax},
		{"1e3", money.ErrSyntax},
		{" 5", money.ErrSyntax},
		{"5 ", money.ErrSyntax},
		{"1,000.00", money.ErrSyntax},
		{"--5", money.ErrSyntax},
		{"+-5", money.ErrSyntax},
		{"5.-1", money.ErrSyntax},
		{"٣", money.ErrSyntax},
		{"92233720368547758.08", money.ErrOverflow},
		{"-92233720368547758.09", money.ErrOverflow},
		{"184467440737095516.15", money.ErrOverflow},
		{"184467440737095517", money.ErrOverflow},
		{strings.Repeat("9", 40), money.ErrOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			_, err := money.Parse(tt.in)
			require.ErrorIs(t, err, tt.want)
		})
	}
}

func TestString(t *testing.T) {
	t.Parallel()

	tests := []struct {
		in   money.Amount
		want string
	}{
		{2999, "29.99"},
		{5, "0.05"},
		{50, "0.50"},
		{0, "0.00"},
		{-120, "-1.20"},
		{-5, "-0.05"},
		{100000, "1000.00"},
		{math.MaxInt64, "92233720368547758.07"},
		{math.MinInt64, "-92233720368547758.08"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, tt.in.String())
	}
}

func TestArithmetic(t *testing.T) {
	t.Parallel()

	sum, err := money.Amount(1999).Add(1)
	require.NoError(t, err)
	require.Equal(t, money.Amount(2000), sum)

	diff, err := money.Amount(500).Sub(750)
	require.NoError(t, err)
	require.Equal(t, money.Amount(-250), diff)

	prod, err := money.Amount(2999).Mul(3)
	require.NoError(t, err)
	require.Equal(t, money.Amount(8997), prod)

	zero, err := money.Amount(math.MaxInt64).Mul(0)
	require.NoError(t, err)
	require.Equal(t, money.Amount(0), zero)

	neg, err := money.Amount(-4).Mul(-5)
	require.NoError(t, err)
	require.Equal(t, money.Amount(20), neg)
}

func TestArithmeticOverflow(t *testing.T) {
	t.Parallel()

	const maxA, minA = money.Amount(math.MaxInt64), money.Amount(math.MinInt64)
	overflows := []func() (money.Amount, error){
		func() (money.Amount, error) { return maxA.Add(1) },
		func() (money.Amount, error) { return minA.Add(-1) },
		func() (money.Amount, error) { return minA.Sub(1) },
		func() (money.Amount, error) { return maxA.Sub(-1) },
		func() (money.Amount, error) { return money.Amount(0).Sub(minA) },
		func() (money.Amount, error) { return maxA.Mul(2) },
		func() (money.Amount, error) { return money.Amount(1 << 40).Mul(1 << 30) },
		func() (money.Amount, error) { return minA.Mul(-1) },
		func() (money.Amount, error) { return money.Amount(-1).Mul(math.MinInt64) },
		func() (money.Amount, error) { return minA.Mul(2) },
	}
	for i, f := range overflows {
		_, err := f()
		require.ErrorIs(t, err, money.ErrOverflow, "case %d", i)
	}

	edge, err := maxA.Add(minA)
	require.NoError(t, err)
	require.Equal(t, money.Amount(-1), edge)
	edge, err = minA.Mul(1)
	require.NoError(t, err)
	require.Equal(t, minA, edge)
}

// decimal is the whole grammar Parse accepts.
var decimal = regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]{1,2})?$`)

// FuzzParse checks Parse against an independent reading with math/big: it
// accepts exactly the strings of the grammar whose value fits int64 minor
// units, returns that value, and String gives a form that parses back to
// it. A refusal is ErrSyntax or ErrOverflow and quotes a short prefix only.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"29.99", "5", "0.5", "-1.20", "+3", "007.10", "-0", "0.00",
		"92233720368547758.07", "-92233720368547758.08", "92233720368547758.08", "184467440737095516.16",
		"", "-", ".5", "5.", "1.234", "1e3", "1E-2", "NaN", "Inf", "0x1F", "1_000", " 5", "١٢", "１", "1.2.3", "--1",
	} {
		f.Add(seed)
	}
	minInt64, maxInt64 := big.NewInt(-1<<63), big.NewInt(1<<63-1)

	f.Fuzz(func(t *testing.T, s string) {
		a, err := money.Parse(s)
		if !decimal.MatchString(s) {
			require.ErrorIs(t, err, money.ErrSyntax, "%q", s)
			return
		}
		want, ok := new(big.Rat).SetString(s)
		require.True(t, ok, "%q", s)
		want.Mul(want, big.NewRat(100, 1))
		require.True(t, want.IsInt(), "%q", s)
		cents := want.Num()
		if cents.Cmp(minInt64) < 0 || cents.Cmp(maxInt64) > 0 {
			require.ErrorIs(t, err, money.ErrOverflow, "%q", s)
			require.Less(t, len(err.Error()), 100)
			return
		}
		require.NoError(t, err, "%q", s)
		require.Equal(t, cents.Int64(), int64(a), "%q", s)

		back, err := money.Parse(a.String())
		require.NoError(t, err)
		require.Equal(t, a, back, "String round-trips")
		require.Regexp(t, `^-?[0-9]+\.[0-9]{2}$`, a.String())
	})
}

// FuzzStringParse checks the other direction: any int64 of cents formats to
// a string that Parse reads back exactly.
func FuzzStringParse(f *testing.F) {
	for _, seed := range []int64{0, 1, -1, 99, 100, -120, math.MaxInt64, math.MinInt64} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, n int64) {
		got, err := money.Parse(money.Amount(n).String())
		require.NoError(t, err)
		require.Equal(t, money.Amount(n), got)
	})
}

// A refused input is quoted in the error only by its first 40
// characters: a megabyte of digits is never echoed back to a client.
func TestParseErrorsQuoteAShortPrefix(t *testing.T) {
	t.Parallel()

	for _, in := range []string{strings.Repeat("9", 1<<20), strings.Repeat("x", 1<<20), "1." + strings.Repeat("0", 1<<20)} {
		_, err := money.Parse(in)
		require.Error(t, err)
		require.Less(t, len(err.Error()), 100, "%.20s…", in)
		require.Contains(t, err.Error(), in[:40])
	}
}
