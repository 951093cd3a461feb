package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ResultSchema is the version of the JSON results; --compare refuses
// files of another version.
const ResultSchema = 1

// Result is everything a run measured, as written by --out.
type Result struct {
	Schema    int          `json:"schema"`
	RunID     string       `json:"run_id"`
	Label     string       `json:"label,omitempty"`
	StartedAt time.Time    `json:"started_at"`
	URL       string       `json:"url"`
	Config    ResultConfig `json:"config"`

	SetupSeconds  float64 `json:"setup_seconds"`
	LoadSeconds   float64 `json:"load_seconds"`
	SettleSeconds float64 `json:"settle_seconds"`

	// OfferedRate is the open model's target in orders/s (0 when closed).
	OfferedRate float64 `json:"offered_rate"`
	// SentRate, AchievedRate and FinalRate are the measured orders sent,
	// placed (placeOrder answered with an order) and seen final, per
	// second of the measured duration — or of the time from its start
	// until the last of them was placed or seen final, if that is longer.
	SentRate     float64 `json:"sent_rate"`
	AchievedRate float64 `json:"achieved_rate"`
	FinalRate    float64 `json:"final_rate"`

	Counts Counts `json:"counts"`
	// Outcomes counts the orders of each scenario by how they ended:
	// CONFIRMED, CANCELLED/INVENTORY_UNAVAILABLE, REFUSED/<code>, …
	Outcomes map[Scenario]map[string]int64 `json:"outcomes"`
	// Latency lists placement, cancellation and end-to-end latencies.
	Latency []LatencyRow `json:"latency"`
	// Errors counts failed requests by operation and extensions.code.
	Errors     []ErrorCount      `json:"errors"`
	Invariants []InvariantResult `json:"invariants"`
	// Passed is true when every invariant held.
	Passed bool `json:"passed"`
}

// ResultConfig is the configuration a result was measured with.
type ResultConfig struct {
	Model           string  `json:"model"`
	Rate            float64 `json:"rate,omitempty"`
	Concurrency     int     `json:"concurrency,omitempty"`
	Duration        string  `json:"duration"`
	Warmup          string  `json:"warmup"`
	Mix             string  `json:"mix"`
	Products        int     `json:"products"`
	Customers       int     `json:"customers"`
	PoorCustomers   int     `json:"poor_customers"`
	Stock           int     `json:"stock"`
	ScarceStock     int     `json:"scarce_stock"`
	Credit          string  `json:"credit"`
	Price           string  `json:"price"`
	E2E             string  `json:"e2e"`
	PollInterval    string  `json:"poll_interval,omitempty"`
	PollConcurrency int     `json:"poll_concurrency,omitempty"`
	Seed            uint64  `json:"seed"`
}

func resultConfig(c Config) ResultConfig {
	rc := ResultConfig{
		Model: c.Model(), Rate: c.Rate, Concurrency: c.Concurrency,
		Duration: c.Duration.String(), Warmup: c.Warmup.String(), Mix: c.Mix.String(),
		Products: c.Products, Customers: c.Customers, PoorCustomers: c.PoorCustomers,
		Stock: c.Stock, ScarceStock: c.ScarceStock, Credit: c.Credit, Price: c.Price,
		E2E: c.E2E, Seed: c.Seed,
	}
	if c.E2E == E2EPoll {
		rc.PollInterval = c.PollInterval.String()
		rc.PollConcurrency = c.PollConcurrency
	}
	return rc
}

// Counts are the run's totals (warmup included, unlike the rates).
type Counts struct {
	Sent     int64 `json:"sent"`
	Answered int64 `json:"answered"`
	Placed   int64 `json:"placed"`
	Refused  int64 `json:"refused"`
	Unknown  int64 `json:"unknown"`
	// Dropped arrivals were never sent: the open model had MaxInFlight
	// requests outstanding.
	Dropped int64 `json:"dropped"`
	// Resolved placements had no answer during the load and were re-sent
	// with their key while settling.
	Resolved int64 `json:"resolved"`
	Final    int64 `json:"final"`
	Measured int64 `json:"measured"`
	// Polls is the number of order queries the poll e2e mode sent: load
	// the bench added on top of the orders.
	Polls                 int64 `json:"polls"`
	SubscriptionFallbacks int64 `json:"subscription_fallbacks"`
}

// LatencyRow is one latency distribution.
type LatencyRow struct {
	Name string `json:"name"`
	Summary
}

// ErrorCount is how often one operation failed with one code.
type ErrorCount struct {
	Op    string `json:"op"`
	Code  string `json:"code"`
	Count int64  `json:"count"`
}

// fillResult copies the counters and the outcome of every order.
func (r *runner) fillResult(res *Result) {
	s := r.stats
	cfg := r.cfg
	measureStart := s.loadStart().Add(cfg.Warmup)
	// A rate is the measured orders over the measured duration, or over
	// the time until the last of them got there when that took longer:
	// a server that answers the last placement a minute late did not
	// sustain the offered rate.
	rate := func(n int64, last int64) float64 {
		window := cfg.Duration
		if last != 0 {
			window = max(window, time.Unix(0, last).Sub(measureStart))
		}
		return float64(n) / window.Seconds()
	}
	res.OfferedRate = cfg.Rate
	res.SentRate = rate(s.measuredSent.Load(), 0)
	res.AchievedRate = rate(s.measuredPlaced.Load(), s.lastPlaced.Load())
	res.FinalRate = rate(s.measuredFinal.Load(), s.lastFinal.Load())

	res.Counts = Counts{
		Sent: s.sent.Load(), Answered: s.answered.Load(), Placed: s.placed.Load(),
		Dropped: s.dropped.Load(), Resolved: s.resolved.Load(), Final: s.final.Load(),
		Measured: s.measuredSent.Load(), Polls: s.polls.Load(), SubscriptionFallbacks: s.subscriptionFallbacks.Load(),
	}
	res.Outcomes = map[Scenario]map[string]int64{}
	res.Counts.Placed = 0
	for _, o := range r.snapshot() {
		outcome := orderOutcome(o)
		switch {
		case o.placed():
			res.Counts.Placed++
		case o.refused:
			res.Counts.Refused++
		default:
			res.Counts.Unknown++
		}
		if res.Outcomes[o.scenario] == nil {
			res.Outcomes[o.scenario] = map[string]int64{}
		}
		res.Outcomes[o.scenario][outcome]++
	}

	res.Latency = []LatencyRow{
		{Name: "placeOrder", Summary: s.placement.Summary()},
		{Name: "cancelOrder", Summary: s.cancel.Summary()},
		{Name: "e2e seen (all)", Summary: s.e2e.Summary()},
		{Name: "e2e committed (all)", Summary: s.e2eCommitted.Summary()},
	}
	for _, sc := range Scenarios() {
		if cfg.Mix.Weight(sc) > 0 {
			res.Latency = append(res.Latency, LatencyRow{Name: "e2e seen " + string(sc), Summary: s.e2eBy[sc].Summary()})
		}
	}
	res.Errors = s.errorCounts()
	res.Passed = true
	for _, inv := range res.Invariants {
		res.Passed = res.Passed && inv.Passed
	}
}

// orderOutcome names how one order ended, as the bench last saw it.
func orderOutcome(o *orderRecord) string {
	switch {
	case o.refused:
		return "REFUSED/" + errorCode(o.placeErr)
	case o.unknown():
		return "UNKNOWN"
	}
	status, code, ok := o.final()
	switch {
	case !ok:
		return "NOT_FINAL"
	case code != "":
		return status + "/" + code
	}
	return status
}

// WriteJSON writes the result to path, indented.
func WriteJSON(path string, res *Result) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

// ReadJSON reads a result written by WriteJSON.
func ReadJSON(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	var res Result
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("decode results %s: %w", path, err)
	}
	if res.Schema != ResultSchema {
		return nil, fmt.Errorf("results %s have schema %d, this bench reads %d", path, res.Schema, ResultSchema)
	}
	return &res, nil
}

// WriteTable prints the result for a terminal.
func (res *Result) WriteTable(w io.Writer) error {
	var b strings.Builder
	left := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	left("orderflow bench %s  %s\n", res.RunID, res.StartedAt.Format(time.RFC3339))
	if res.Label != "" {
		left("label   %s\n", res.Label)
	}
	left("target  %s\n", res.URL)
	left("load    %s for %s (warmup %s), e2e %s, mix %s\n", res.Config.Model, res.Config.Duration, res.Config.Warmup, res.Config.E2E, res.Config.Mix)
	left("setup   %d products x %d units, %d customers x %s (+%d without credit), price %s, scarce product %d units\n",
		res.Config.Products, res.Config.Stock, res.Config.Customers, res.Config.Credit, res.Config.PoorCustomers, res.Config.Price, res.Config.ScarceStock)
	left("phases  setup %.1fs, load %.1fs, settle %.1fs\n\n", res.SetupSeconds, res.LoadSeconds, res.SettleSeconds)

	offered := "-"
	if res.OfferedRate > 0 {
		offered = trimFloat(res.OfferedRate) + "/s"
	}
	left("rate    offered %s, sent %.1f/s, placed %.1f/s, final %.1f/s (measured orders over the duration, or until the last got there)\n",
		offered, res.SentRate, res.AchievedRate, res.FinalRate)
	c := res.Counts
	left("orders  sent %d (measured %d), placed %d, refused %d, unknown %d, dropped %d, resolved %d, final %d\n",
		c.Sent, c.Measured, c.Placed, c.Refused, c.Unknown, c.Dropped, c.Resolved, c.Final)
	left("e2e     %d order polls, %d subscription fallbacks\n\n", c.Polls, c.SubscriptionFallbacks)

	outcomes := table{{"scenario", "outcome", "count"}}
	for _, sc := range Scenarios() {
		counts := res.Outcomes[sc]
		names := make([]string, 0, len(counts))
		for name := range counts {
			names = append(names, name)
		}
		sort.Slice(names, func(i, j int) bool {
			if counts[names[i]] != counts[names[j]] {
				return counts[names[i]] > counts[names[j]]
			}
			return names[i] < names[j]
		})
		for _, name := range names {
			outcomes = append(outcomes, []string{string(sc), name, strconv.FormatInt(counts[name], 10)})
		}
	}
	outcomes.render(&b, 2)
	b.WriteString("\n")

	latency := table{{"latency (ms)", "count", "min", "mean", "p50", "p90", "p99", "p99.9", "max"}}
	for _, l := range res.Latency {
		latency = append(latency, []string{l.Name, strconv.FormatInt(l.Count, 10),
			ms(l.Min), ms(l.Mean), ms(l.P50), ms(l.P90), ms(l.P99), ms(l.P999), ms(l.Max)})
	}
	latency.render(&b, 1)
	b.WriteString("\n")

	if len(res.Errors) == 0 {
		b.WriteString("errors: none\n")
	} else {
		errs := table{{"errors: op", "code", "count"}}
		for _, e := range res.Errors {
			errs = append(errs, []string{e.Op, e.Code, strconv.FormatInt(e.Count, 10)})
		}
		errs.render(&b, 2)
	}
	b.WriteString("\n")

	invariants := table{{"invariant", "result", "checked", "violations"}}
	for _, inv := range res.Invariants {
		invariants = append(invariants, []string{inv.Name, passFail(inv.Passed), strconv.Itoa(inv.Checked), strconv.Itoa(inv.Violations)})
	}
	invariants.render(&b, 2)
	for _, inv := range res.Invariants {
		if inv.Passed {
			continue
		}
		left("\n%s: %d violations", inv.Name, inv.Violations)
		if len(inv.Examples) < inv.Violations {
			left(" (first %d)", len(inv.Examples))
		}
		left("\n")
		for _, e := range inv.Examples {
			left("  - %s\n", e)
		}
	}
	left("\nresult  %s\n", passFail(res.Passed))
	_, err := io.WriteString(w, b.String())
	return err
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

func ms(v float64) string { return fmt.Sprintf("%.1f", v) }

// trimFloat prints a rate without useless zeros: 50, 12.5.
func trimFloat(f float64) string {
	s := fmt.Sprintf("%.2f", f)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// Compare prints two results side by side with the relative change of
// every number, for before/after comparisons of a change.
func Compare(w io.Writer, nameA string, a *Result, nameB string, b *Result) error {
	rows := table{{"", nameA, nameB, "change"}}
	blank := func() { rows = append(rows, nil) }
	text := func(label, x, y string) { rows = append(rows, []string{label, x, y, ""}) }
	num := func(label string, x, y float64, format string) {
		rows = append(rows, []string{label, fmt.Sprintf(format, x), fmt.Sprintf(format, y), delta(x, y)})
	}

	text("model", a.Config.Model, b.Config.Model)
	text("duration", a.Config.Duration, b.Config.Duration)
	text("e2e", a.Config.E2E, b.Config.E2E)
	blank()
	num("offered orders/s", a.OfferedRate, b.OfferedRate, "%.1f")
	num("sent orders/s", a.SentRate, b.SentRate, "%.1f")
	num("placed orders/s", a.AchievedRate, b.AchievedRate, "%.1f")
	num("final orders/s", a.FinalRate, b.FinalRate, "%.1f")
	num("orders sent", float64(a.Counts.Sent), float64(b.Counts.Sent), "%.0f")
	num("orders placed", float64(a.Counts.Placed), float64(b.Counts.Placed), "%.0f")
	num("orders final", float64(a.Counts.Final), float64(b.Counts.Final), "%.0f")
	num("dropped", float64(a.Counts.Dropped), float64(b.Counts.Dropped), "%.0f")

	for _, name := range unionNames(latencyNames(a), latencyNames(b)) {
		la, lb := latencyByName(a, name), latencyByName(b, name)
		blank()
		num(name+" count", float64(la.Count), float64(lb.Count), "%.0f")
		num(name+" p50 ms", la.P50, lb.P50, "%.1f")
		if strings.HasSuffix(name, "(all)") || !strings.HasPrefix(name, "e2e ") {
			num(name+" p90 ms", la.P90, lb.P90, "%.1f")
		}
		num(name+" p99 ms", la.P99, lb.P99, "%.1f")
		if strings.HasSuffix(name, "(all)") || !strings.HasPrefix(name, "e2e ") {
			// The per-scenario rows keep to p50 and p99: their samples
			// are few, and the tail beyond is noise.
			num(name+" p99.9 ms", la.P999, lb.P999, "%.1f")
			num(name+" max ms", la.Max, lb.Max, "%.1f")
		}
	}

	blank()
	ea, eb := errorsByKey(a), errorsByKey(b)
	num("errors total", float64(sumErrors(a)), float64(sumErrors(b)), "%.0f")
	for _, k := range unionNames(keys(ea), keys(eb)) {
		num("  "+k, float64(ea[k]), float64(eb[k]), "%.0f")
	}

	blank()
	ia, ib := invariantsByName(a), invariantsByName(b)
	for _, name := range unionNames(invariantNames(a), invariantNames(b)) {
		text("invariant "+name, invariantCell(ia, name), invariantCell(ib, name))
	}
	text("result", passFail(a.Passed), passFail(b.Passed))

	var out strings.Builder
	// What tells the runs apart, before the numbers; the mix is too wide
	// for a column.
	describe := table{}
	for _, r := range []struct {
		name string
		res  *Result
	}{{nameA, a}, {nameB, b}} {
		describe = append(describe, []string{r.name + ":", r.res.RunID, r.res.StartedAt.Format(time.RFC3339),
			"label " + orDash(r.res.Label), "mix " + r.res.Config.Mix})
	}
	describe.render(&out, 5)
	out.WriteString("\n")
	rows.render(&out, 1)
	_, err := io.WriteString(w, out.String())
	return err
}

// table is rows of cells; the first row is the header.
type table [][]string

// render writes the table with two spaces between columns: the first
// leftCols columns left-aligned, the others (numbers) right-aligned. An
// empty row prints as an empty line.
func (t table) render(w *strings.Builder, leftCols int) {
	var widths []int
	for _, row := range t {
		for i, cell := range row {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	for _, row := range t {
		var line strings.Builder
		for i, cell := range row {
			if i > 0 {
				line.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell))
			if i < leftCols {
				line.WriteString(cell + pad)
			} else {
				line.WriteString(pad + cell)
			}
		}
		w.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
}

// delta is the relative change from x to y.
func delta(x, y float64) string {
	switch {
	case x == y:
		return "="
	case x == 0:
		return "new"
	}
	return fmt.Sprintf("%+.1f%%", (y-x)/x*100)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func latencyNames(r *Result) []string {
	names := make([]string, len(r.Latency))
	for i, l := range r.Latency {
		names[i] = l.Name
	}
	return names
}

func latencyByName(r *Result, name string) Summary {
	for _, l := range r.Latency {
		if l.Name == name {
			return l.Summary
		}
	}
	return Summary{}
}

func errorsByKey(r *Result) map[string]int64 {
	m := map[string]int64{}
	for _, e := range r.Errors {
		m[e.Op+" "+e.Code] += e.Count
	}
	return m
}

func sumErrors(r *Result) int64 {
	var n int64
	for _, e := range r.Errors {
		n += e.Count
	}
	return n
}

func keys(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func invariantNames(r *Result) []string {
	names := make([]string, len(r.Invariants))
	for i, inv := range r.Invariants {
		names[i] = inv.Name
	}
	return names
}

func invariantsByName(r *Result) map[string]InvariantResult {
	m := map[string]InvariantResult{}
	for _, inv := range r.Invariants {
		m[inv.Name] = inv
	}
	return m
}

func invariantCell(m map[string]InvariantResult, name string) string {
	inv, ok := m[name]
	switch {
	case !ok:
		return "-"
	case inv.Passed:
		return "PASS"
	}
	return fmt.Sprintf("FAIL (%d)", inv.Violations)
}

// unionNames keeps a's order and appends b's names a lacks.
func unionNames(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, list := range [][]string{a, b} {
		for _, n := range list {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}
