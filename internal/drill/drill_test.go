package drill

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A drill passes only with nothing lost, doubled, stuck, failed or parked
// and every invariant kept.
func TestRowPassesOnlyWhenNothingWentWrong(t *testing.T) {
	t.Parallel()
	ok := Row{Scenario: "kill -9 one worker", Placed: 10, Final: 10, Invariants: true, Recovered: time.Second, ReadModel: 2 * time.Second}
	require.True(t, ok.OK())
	for name, bad := range map[string]func(*Row){
		"lost":       func(r *Row) { r.Lost = 1 },
		"doubled":    func(r *Row) { r.Doubled = 1 },
		"stuck":      func(r *Row) { r.Stuck = 1 },
		"failed":     func(r *Row) { r.Failed = 1 },
		"invariants": func(r *Row) { r.Invariants = false },
		"error":      func(r *Row) { r.Err = errors.New("cluster did not start") },
	} {
		r := ok
		bad(&r)
		require.False(t, r.OK(), name)
	}

	var out strings.Builder
	require.NoError(t, WriteTable(&out, []Row{ok, {Scenario: "kafka kill -9", Failed: 2, Invariants: true, Recovered: -1, ReadModel: -1, ServerRestart: 3 * time.Second}}))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 3)
	require.Contains(t, lines[1], "PASS")
	require.Contains(t, lines[2], "FAIL")
	require.Contains(t, lines[2], "3.0")
}

// Scenarios are chosen by name or by a part of it.
func TestScenariosAreChosenByName(t *testing.T) {
	t.Parallel()
	require.True(t, chosen([]string{"one worker"}, "kill -9 one worker"))
	require.True(t, chosen([]string{" Rolling "}, "rolling restart (SIGTERM)"))
	require.False(t, chosen([]string{"kafka"}, "kill -9 one api"))
	names := map[string]bool{}
	for _, s := range Scenarios(time.Second) {
		require.False(t, names[s.Name], "scenario %q twice", s.Name)
		names[s.Name] = true
	}
	require.Len(t, names, 10)
}
