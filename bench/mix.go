package bench

import (
	"fmt"
	"strconv"
	"strings"
)

// Scenario is one kind of order the load sends.
type Scenario string

// The scenarios of a mix.
const (
	// Normal is a one-line order a funded customer places for a product in
	// stock: it should end CONFIRMED.
	Normal Scenario = "normal"
	// OutOfStock orders one unit of the dedicated scarce product, whose
	// few units sell out early: after that it should end CANCELLED with
	// INVENTORY_UNAVAILABLE.
	OutOfStock Scenario = "out-of-stock"
	// InsufficientFunds is a normal order by a customer without credit: it
	// should end CANCELLED with PAYMENT_FAILED.
	InsufficientFunds Scenario = "insufficient-funds"
	// Cancel is a normal order cancelled right after placing: CANCELLED,
	// or CONFIRMED when the saga was faster than the request.
	Cancel Scenario = "cancel"
	// MultiLine orders 2-5 different products: it should end CONFIRMED.
	MultiLine Scenario = "multi-line"
)

// Scenarios lists every scenario in report order.
func Scenarios() []Scenario {
	return []Scenario{Normal, OutOfStock, InsufficientFunds, Cancel, MultiLine}
}

// DefaultMix is the mix of the issue: mostly orders that should succeed,
// 5% of each kind of refusal, cancellation and multi-line order.
const DefaultMix = "normal=80,out-of-stock=5,insufficient-funds=5,cancel=5,multi-line=5"

// MixEntry is one scenario's weight.
type MixEntry struct {
	Scenario Scenario `json:"scenario"`
	Weight   int      `json:"weight"`
}

// Mix is the share of each scenario in the load, as relative weights (they
// need not add up to 100).
type Mix []MixEntry

// ParseMix reads "normal=80,cancel=5,...". Scenarios not named get weight
// zero; a scenario named twice, an unknown scenario, a negative weight or
// an all-zero mix is an error.
func ParseMix(s string) (Mix, error) {
	var mix Mix
	seen := map[Scenario]bool{}
	total := 0
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("mix entry %q: want scenario=weight", part)
		}
		sc := Scenario(strings.TrimSpace(name))
		if !sc.valid() {
			return nil, fmt.Errorf("mix entry %q: unknown scenario %q (want one of %s)", part, sc, scenarioNames())
		}
		if seen[sc] {
			return nil, fmt.Errorf("mix entry %q: scenario %s given twice", part, sc)
		}
		seen[sc] = true
		w, err := strconv.Atoi(strings.TrimSpace(value))
		if err != nil || w < 0 {
			return nil, fmt.Errorf("mix entry %q: weight must be a whole number >= 0", part)
		}
		total += w
		if w > 0 {
			mix = append(mix, MixEntry{Scenario: sc, Weight: w})
		}
	}
	if total == 0 {
		return nil, fmt.Errorf("mix %q: no scenario has a positive weight", s)
	}
	return mix, nil
}

// String renders the mix in the syntax ParseMix reads.
func (m Mix) String() string {
	parts := make([]string, len(m))
	for i, e := range m {
		parts[i] = fmt.Sprintf("%s=%d", e.Scenario, e.Weight)
	}
	return strings.Join(parts, ",")
}

// Weight returns the weight of sc (zero when absent).
func (m Mix) Weight(sc Scenario) int {
	for _, e := range m {
		if e.Scenario == sc {
			return e.Weight
		}
	}
	return 0
}

// Pattern returns one cycle of scenarios in which each appears exactly in
// proportion to its weight, spread as evenly as possible (smooth weighted
// round robin). Order i of a run is Pattern()[i % len]: the shares are
// exact over every full cycle and deterministic, so two runs of the same
// mix send the same orders, and any stretch of the run sees every
// scenario rather than bursts of one.
func (m Mix) Pattern() []Scenario {
	g := 0
	for _, e := range m {
		g = gcd(g, e.Weight)
	}
	if g == 0 {
		return nil
	}
	total := 0
	weights := make([]int, len(m))
	for i, e := range m {
		weights[i] = e.Weight / g
		total += weights[i]
	}
	current := make([]int, len(m))
	out := make([]Scenario, 0, total)
	for range total {
		best := 0
		for i := range m {
			current[i] += weights[i]
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		out = append(out, m[best].Scenario)
	}
	return out
}

func (s Scenario) valid() bool {
	for _, sc := range Scenarios() {
		if s == sc {
			return true
		}
	}
	return false
}

func scenarioNames() string {
	names := make([]string, 0, len(Scenarios()))
	for _, sc := range Scenarios() {
		names = append(names, string(sc))
	}
	return strings.Join(names, ", ")
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
