package timeline

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// An order whose version 5 carries an earlier time than version 4 (events
// recorded before migration 00011) still tells them in version order; the
// saga's and the other streams' entries stay where their times put them.
func TestSortKeepsEachStreamsVersionOrder(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 7, 49, 5, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ev := func(ctx, stream string, v, ms int) Entry {
		return Entry{At: at(ms), Context: ctx, Kind: KindEvent, Stream: stream, Version: v}
	}
	saga := func(name string, ms int) Entry { return Entry{At: at(ms), Context: "saga", Kind: KindSaga, Name: name} }
	es := []Entry{
		ev("ordering", "o-1", 6, 262), ev("ordering", "o-1", 4, 263), saga("applied", 264),
		ev("ordering", "o-1", 1, 0), ev("inventory", "p-1", 9, 250), ev("ordering", "o-1", 5, 262),
		ev("payments", "c-1", 3, 262), saga("started", 1),
	}
	sortEntries(es)
	var got []string
	for _, e := range es {
		if e.Kind == KindSaga {
			got = append(got, e.Name)
			continue
		}
		got = append(got, e.Context[:1]+string(rune('0'+e.Version)))
	}
	// By time: o1, started, i9, then at 262 o5 o6 p3 (stream order), o4 at
	// 263, applied. The order's own events at 262-263 are put back in
	// version order in the places they hold: o4, o5, o6.
	require.Equal(t, []string{"o1", "started", "i9", "p3", "o4", "o5", "o6", "applied"}, got)
}
