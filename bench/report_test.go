package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func sampleResult(t *testing.T) *Result {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Rate, cfg.Duration, cfg.E2E = 50, 20*time.Second, E2EPoll
	return &Result{
		Schema: ResultSchema, RunID: "abcd1234", Label: "faults off",
		StartedAt: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC),
		URL:       "http://localhost:18080/graphql", Config: resultConfig(cfg),
		SetupSeconds: 1.5, LoadSeconds: 20.1, SettleSeconds: 2.2,
		OfferedRate: 50, SentRate: 50, AchievedRate: 49.5, FinalRate: 49,
		Counts: Counts{Sent: 1000, Answered: 1000, Placed: 990, Refused: 10, Final: 990, Measured: 1000, Polls: 12000},
		Outcomes: map[Scenario]map[string]int64{
			Normal:     {"CONFIRMED": 800},
			OutOfStock: {"CONFIRMED": 10, "CANCELLED/INVENTORY_UNAVAILABLE": 40},
		},
		Latency: []LatencyRow{
			{Name: "placeOrder", Summary: Summary{Count: 990, Min: 3, Mean: 20, P50: 15, P90: 30, P99: 80, P999: 120, Max: 130}},
			{Name: "e2e (all)", Summary: Summary{Count: 990, Min: 50, Mean: 400, P50: 350, P90: 700, P99: 1200, P999: 1500, Max: 1600}},
		},
		Errors: []ErrorCount{{Op: "cancelOrder", Code: "CONFLICT", Count: 3}, {Op: "placeOrder", Code: "INTERNAL", Count: 10}},
		Invariants: []InvariantResult{
			{Name: InvStock, Passed: true, Checked: 51},
			{Name: InvCredit, Passed: false, Checked: 510, Violations: 1, Examples: []string{"customer c-1: 1.00 still held"}},
		},
		Passed: false,
	}
}

func TestWriteTable(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	require.NoError(t, sampleResult(t).WriteTable(&b))
	out := b.String()
	for _, want := range []string{
		"orderflow bench abcd1234",
		"label   faults off",
		"load    open 50/s for 20s (warmup 0s), e2e poll, mix " + DefaultMix,
		"rate    offered 50/s, sent 50.0/s, placed 49.5/s, final 49.0/s",
		"orders  sent 1000 (measured 1000), placed 990, refused 10",
		"out-of-stock  CANCELLED/INVENTORY_UNAVAILABLE     40\nout-of-stock  CONFIRMED                           10\n",
		"errors: op   code      count\ncancelOrder  CONFLICT      3\n",
		"credit conserved  FAIL        510           1\n",
		"credit conserved: 1 violations\n  - customer c-1: 1.00 still held",
		"result  FAIL",
	} {
		require.Contains(t, out, want)
	}
	// Latency rows: names left, numbers right-aligned under their header.
	require.Contains(t, out, ""+
		"latency (ms)  count   min   mean    p50    p90     p99   p99.9     max\n"+
		"placeOrder      990   3.0   20.0   15.0   30.0    80.0   120.0   130.0\n"+
		"e2e (all)       990  50.0  400.0  350.0  700.0  1200.0  1500.0  1600.0\n")
}

func TestJSONRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "a.json")
	res := sampleResult(t)
	require.NoError(t, WriteJSON(path, res))
	back, err := ReadJSON(path)
	require.NoError(t, err)
	require.Equal(t, res, back)

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(raw), `"p99_9_ms": 120`)

	require.NoError(t, os.WriteFile(path, []byte(`{"schema": 99}`), 0o644))
	_, err = ReadJSON(path)
	require.ErrorContains(t, err, "schema 99")
	_, err = ReadJSON(filepath.Join(dir, "missing.json"))
	require.Error(t, err)
}

func TestCompare(t *testing.T) {
	t.Parallel()
	a := sampleResult(t)
	b := sampleResult(t)
	b.RunID, b.Label, b.Passed = "ffff0000", "", true
	b.Config.Model, b.OfferedRate, b.AchievedRate = "open 100/s", 100, 99
	b.Latency[0].P99 = 40
	b.Latency = append(b.Latency, LatencyRow{Name: "cancelOrder", Summary: Summary{Count: 5, P50: 9}},
		LatencyRow{Name: "e2e seen normal", Summary: Summary{Count: 5, P50: 300, P90: 400, P99: 500}})
	b.Errors = []ErrorCount{{Op: "placeOrder", Code: "INTERNAL", Count: 20}, {Op: "order", Code: "CLIENT_TIMEOUT", Count: 1}}
	b.Invariants[1] = InvariantResult{Name: InvCredit, Passed: true, Checked: 510}

	var out strings.Builder
	require.NoError(t, Compare(&out, "before", a, "after", b))
	s := out.String()
	row := func(label string) []string {
		t.Helper()
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, label+" ") {
				return strings.Fields(strings.TrimPrefix(l, label))
			}
		}
		t.Fatalf("no row %q in\n%s", label, s)
		return nil
	}
	lines := strings.Split(s, "\n")
	require.Equal(t, "before:  abcd1234  2026-11-21T12:00:00Z  label faults off  mix "+DefaultMix, lines[0])
	require.Equal(t, "after:   ffff0000  2026-11-21T12:00:00Z  label -           mix "+DefaultMix, lines[1])
	require.Equal(t, []string{"before", "after", "change"}, strings.Fields(lines[3]))
	require.Equal(t, []string{"open", "50/s", "open", "100/s"}, row("model"))
	require.Equal(t, []string{"50.0", "100.0", "+100.0%"}, row("offered orders/s"))
	require.Equal(t, []string{"49.5", "99.0", "+100.0%"}, row("placed orders/s"))
	require.Equal(t, []string{"80.0", "40.0", "-50.0%"}, row("placeOrder p99 ms"))
	require.Equal(t, []string{"1000", "1000", "="}, row("orders sent"))
	require.Equal(t, []string{"0", "5", "new"}, row("cancelOrder count"), "a distribution only b has")
	require.Equal(t, []string{"0.0", "500.0", "new"}, row("e2e seen normal p99 ms"))
	require.NotContains(t, s, "e2e seen normal p90", "per-scenario rows keep to p50 and p99")
	require.Contains(t, s, "e2e (all) p90 ms")
	require.Equal(t, []string{"13", "21", "+61.5%"}, row("errors total"))
	require.Equal(t, []string{"10", "20", "+100.0%"}, row("  placeOrder INTERNAL"))
	require.Equal(t, []string{"3", "0", "-100.0%"}, row("  cancelOrder CONFLICT"))
	require.Equal(t, []string{"FAIL", "(1)", "PASS"}, row("invariant credit conserved"))
	require.Equal(t, []string{"FAIL", "PASS"}, row("result"))
}

func TestTrimFloatAndDelta(t *testing.T) {
	t.Parallel()
	require.Equal(t, "50", trimFloat(50))
	require.Equal(t, "12.5", trimFloat(12.5))
	require.Equal(t, "0.33", trimFloat(1.0/3))
	require.Equal(t, "=", delta(2, 2))
	require.Equal(t, "new", delta(0, 2))
	require.Equal(t, "-25.0%", delta(4, 3))
}
