package bench

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseMix(t *testing.T) {
	t.Parallel()
	mix, err := ParseMix(DefaultMix)
	require.NoError(t, err)
	require.Equal(t, Mix{{Normal, 80}, {OutOfStock, 5}, {InsufficientFunds, 5}, {Cancel, 5}, {MultiLine, 5}}, mix)
	require.Equal(t, DefaultMix, mix.String())

	mix, err = ParseMix(" cancel = 1 , normal=3,multi-line=0 ")
	require.NoError(t, err)
	require.Equal(t, Mix{{Cancel, 1}, {Normal, 3}}, mix, "zero weights are dropped")
	require.Equal(t, 0, mix.Weight(MultiLine))
	require.Equal(t, 3, mix.Weight(Normal))

	for _, bad := range []string{
		"", "normal", "normal=x", "normal=-1", "normal=0", "bogus=1", "normal=1,normal=2", "normal=1.5",
	} {
		_, err := ParseMix(bad)
		require.Error(t, err, "mix %q", bad)
	}
}

func TestMixPatternIsExactAndSpread(t *testing.T) {
	t.Parallel()
	mix, err := ParseMix(DefaultMix)
	require.NoError(t, err)
	pattern := mix.Pattern()
	require.Len(t, pattern, 20, "weights are reduced by their gcd (5)")
	counts := map[Scenario]int{}
	for _, sc := range pattern {
		counts[sc]++
	}
	require.Equal(t, map[Scenario]int{Normal: 16, OutOfStock: 1, InsufficientFunds: 1, Cancel: 1, MultiLine: 1}, counts)

	// Smooth: the four rare scenarios never come back to back, so no
	// stretch of the load is all refusals.
	for i, sc := range pattern {
		next := pattern[(i+1)%len(pattern)]
		if sc != Normal {
			require.Equal(t, Normal, next, "pattern %v", pattern)
		}
	}

	mix, err = ParseMix("normal=2,cancel=1")
	require.NoError(t, err)
	require.Equal(t, []Scenario{Normal, Cancel, Normal}, mix.Pattern())

	mix, err = ParseMix("cancel=7")
	require.NoError(t, err)
	require.Equal(t, []Scenario{Cancel}, mix.Pattern())
}
