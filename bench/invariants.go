package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/internal/pause"
)

// The invariants checked after the load settled. Each is a property a
// correct orderflow keeps whatever failed during the run.
const (
	// InvPlacementsAnswered: every placement got a definite answer, at
	// the latest when re-sent with its idempotency key.
	InvPlacementsAnswered = "placements answered"
	// InvOrdersFinal: every order is CONFIRMED, CANCELLED or FAILED, and
	// never left a final status the bench saw earlier.
	InvOrdersFinal = "orders final"
	// InvNoneLost: every order id placeOrder returned can be read.
	InvNoneLost = "no order lost"
	// InvAsRequested: every order has the customer, lines and total the
	// bench asked for at the catalog price.
	InvAsRequested = "orders as requested"
	// InvReadModel: the order query agrees with the event store: same
	// version as the last event, and the status of the one final event.
	InvReadModel = "read model = event store"
	// InvIdempotent: a placement sent again with a used key answers the
	// same order and changes nothing.
	InvIdempotent = "idempotent re-send"
	// InvNoSystemFailure: no order ended FAILED because the system gave up
	// on it (SAGA_TIMEOUT, COMPENSATION_FAILED): under a fault the saga
	// must wait and finish the order. Config.AllowSystemFailures turns it
	// off for runs that inject such failures on purpose.
	InvNoSystemFailure = "no order failed by the system"
	// InvStock: per product, initial stock = available + units of its
	// CONFIRMED orders, nothing left reserved, never below zero.
	InvStock = "stock conserved"
	// InvCredit: per customer, initial credit = balance + totals of their
	// CONFIRMED orders, nothing left held, never below zero.
	InvCredit = "credit conserved"
)

// maxExamples is how many violations of one invariant a result lists.
const maxExamples = 25

// InvariantResult is the outcome of one invariant.
type InvariantResult struct {
	Name       string   `json:"name"`
	Passed     bool     `json:"passed"`
	Checked    int      `json:"checked"`
	Violations int      `json:"violations"`
	Examples   []string `json:"examples,omitempty"`
}

// invariantSet collects violations per invariant, in a fixed order.
type invariantSet struct {
	mu      sync.Mutex
	order   []string
	results map[string]*InvariantResult
}

func newInvariantSet(names ...string) *invariantSet {
	s := &invariantSet{order: names, results: map[string]*InvariantResult{}}
	for _, n := range names {
		s.results[n] = &InvariantResult{Name: n}
	}
	return s
}

func (s *invariantSet) checked(name string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.results[name].Checked += n
}

func (s *invariantSet) violate(name, format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.results[name]
	r.Violations++
	if len(r.Examples) < maxExamples {
		r.Examples = append(r.Examples, fmt.Sprintf(format, args...))
	}
}

func (s *invariantSet) list() []InvariantResult {
	out := make([]InvariantResult, 0, len(s.order))
	for _, n := range s.order {
		r := *s.results[n]
		r.Passed = r.Violations == 0
		out = append(out, r)
	}
	return out
}

// orderCheck is what the final read of one order found.
type orderCheck struct {
	order  Order
	events []OrderEvent
	err    error
	// problems per invariant; empty when the order is fine.
	problems map[string][]string
}

func (c *orderCheck) problem(inv, format string, args ...any) {
	if c.problems == nil {
		c.problems = map[string][]string{}
	}
	c.problems[inv] = append(c.problems[inv], fmt.Sprintf(format, args...))
}

// terminalStatus maps the final events of an order stream to the status
// they set.
var terminalStatus = map[string]string{
	"ordering.OrderConfirmed": "CONFIRMED",
	"ordering.OrderCancelled": "CANCELLED",
	"ordering.OrderFailed":    "FAILED",
}

// verifyOrder compares one order as the API reads it with its event
// stream and with what the bench placed. It is pure, so the rules are
// unit-tested.
func verifyOrder(rec *orderRecord, o Order, events []OrderEvent) *orderCheck {
	c := &orderCheck{order: o, events: events}
	name := fmt.Sprintf("order %s (%s #%d)", rec.id, rec.scenario, rec.seq)

	if !Final(o.Status) {
		c.problem(InvOrdersFinal, "%s is still %s", name, o.Status)
	}
	if seen, _, ok := rec.final(); ok && seen != o.Status {
		c.problem(InvOrdersFinal, "%s was seen %s, now reads %s", name, seen, o.Status)
	}

	if o.CustomerID != rec.customer.ID {
		c.problem(InvAsRequested, "%s belongs to customer %s, placed for %s", name, o.CustomerID, rec.customer.ID)
	}
	want := map[string]int{}
	for _, l := range rec.lines {
		want[l.ProductID] += l.Quantity
	}
	got := map[string]int{}
	for _, l := range o.Items {
		got[l.ProductID] += l.Quantity
	}
	if !equalCounts(want, got) {
		c.problem(InvAsRequested, "%s has items %v, placed %v", name, got, want)
	}
	if total, err := money.Parse(o.TotalAmount); err != nil || total != rec.total {
		c.problem(InvAsRequested, "%s totals %s, expected %s", name, o.TotalAmount, rec.total)
	}

	if len(events) == 0 {
		c.problem(InvReadModel, "%s has no events in the event store", name)
		return c
	}
	for i, e := range events {
		if e.Version != i+1 {
			c.problem(InvReadModel, "%s: event %d has version %d", name, i+1, e.Version)
			break
		}
	}
	if events[0].Type != "ordering.OrderPlaced" {
		c.problem(InvReadModel, "%s: first event is %s", name, events[0].Type)
	}
	last := events[len(events)-1]
	if o.Version != last.Version {
		c.problem(InvReadModel, "%s: read model at version %d, event store at %d", name, o.Version, last.Version)
	}
	var terminal []string
	for _, e := range events {
		if st, ok := terminalStatus[e.Type]; ok {
			terminal = append(terminal, st)
		}
	}
	switch {
	case len(terminal) > 1:
		c.problem(InvReadModel, "%s: %d final events %v", name, len(terminal), terminal)
	case len(terminal) == 1 && terminal[0] != o.Status:
		c.problem(InvReadModel, "%s: read model says %s, event store says %s", name, o.Status, terminal[0])
	case len(terminal) == 0 && Final(o.Status):
		c.problem(InvReadModel, "%s: read model says %s, event store has no final event", name, o.Status)
	}
	return c
}

// SystemFailure reports an order that ended because the system gave up
// on it rather than because a service refused it: FAILED with
// SAGA_TIMEOUT or COMPENSATION_FAILED (the latter also marks a saga
// parked for an operator).
func SystemFailure(status, code string) bool {
	return status == "FAILED" && (code == "SAGA_TIMEOUT" || code == "COMPENSATION_FAILED")
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// checkInvariants reads back every order, product and customer of the
// run. Orders that fail a check are read again, about once a second,
// until the deadline (at most maxRechecks times): a read model may lag
// the event store for a moment, but not past the settle timeout.
func (r *runner) checkInvariants(ctx context.Context, deadline time.Time) []InvariantResult {
	const maxRechecks = 10
	names := []string{InvPlacementsAnswered, InvOrdersFinal, InvNoneLost, InvAsRequested, InvReadModel}
	if !r.cfg.AllowSystemFailures {
		names = append(names, InvNoSystemFailure)
	}
	set := newInvariantSet(append(names, InvIdempotent, InvStock, InvCredit)...)

	orders := r.snapshot()
	var placed []*orderRecord
	for _, o := range orders {
		set.checked(InvPlacementsAnswered, 1)
		switch {
		case o.placed():
			placed = append(placed, o)
		case o.unknown():
			set.violate(InvPlacementsAnswered, "order #%d (key %s): no definite answer: %v", o.seq, o.key, o.placeErr)
		}
	}

	checks := make(map[*orderRecord]*orderCheck, len(placed))
	var mu sync.Mutex
	pending := placed
	for attempt := 0; len(pending) > 0; attempt++ {
		_ = parallel(ctx, r.cfg.CheckConcurrency, len(pending), func(i int) error {
			rec := pending[i]
			o, events, err := r.client.OrderWithEvents(ctx, r.fx.adminToken, rec.id)
			c := &orderCheck{err: err}
			if err == nil {
				c = verifyOrder(rec, o, events)
			}
			mu.Lock()
			checks[rec] = c
			mu.Unlock()
			return nil
		})
		var failing []*orderRecord
		for _, rec := range pending {
			if c := checks[rec]; c.err != nil || len(c.problems) > 0 {
				failing = append(failing, rec)
			}
		}
		if len(failing) == 0 || attempt >= maxRechecks || ctx.Err() != nil || (attempt > 0 && time.Now().After(deadline)) {
			break
		}
		pause.For(ctx, time.Second)
		pending = failing
	}

	committed := map[string]int{}
	captured := map[string]money.Amount{}
	for _, rec := range placed {
		c := checks[rec]
		for _, inv := range []string{InvOrdersFinal, InvNoneLost, InvAsRequested, InvReadModel} {
			set.checked(inv, 1)
		}
		if c == nil {
			set.violate(InvNoneLost, "order %s (#%d): not checked (interrupted)", rec.id, rec.seq)
			continue
		}
		if c.err != nil {
			set.violate(InvNoneLost, "order %s (#%d, %s) cannot be read: %v", rec.id, rec.seq, rec.scenario, c.err)
			continue
		}
		for inv, problems := range c.problems {
			for _, p := range problems {
				set.violate(inv, "%s", p)
			}
		}
		if !r.cfg.AllowSystemFailures {
			set.checked(InvNoSystemFailure, 1)
			if code := c.order.FailureCode(); SystemFailure(c.order.Status, code) {
				set.violate(InvNoSystemFailure, "order %s (%s #%d) ended %s/%s", rec.id, rec.scenario, rec.seq, c.order.Status, code)
			}
		}
		if c.order.Status == "CONFIRMED" {
			for _, l := range rec.lines {
				committed[l.ProductID] += l.Quantity
			}
			captured[rec.customer.ID] += rec.total
		}
	}

	r.checkIdempotency(ctx, set, placed, checks)
	r.checkAccounts(ctx, set, committed, captured)
	return set.list()
}

// checkIdempotency sends a sample of settled orders again with their keys.
func (r *runner) checkIdempotency(ctx context.Context, set *invariantSet, placed []*orderRecord, checks map[*orderRecord]*orderCheck) {
	var candidates []*orderRecord
	for _, rec := range placed {
		if c := checks[rec]; c != nil && c.err == nil && Final(c.order.Status) {
			candidates = append(candidates, rec)
		}
	}
	rng := rand.New(rand.NewPCG(r.cfg.Seed, 0x1de))
	rng.Shuffle(len(candidates), func(i, j int) { candidates[i], candidates[j] = candidates[j], candidates[i] })
	sample := candidates[:min(len(candidates), r.cfg.IdempotencySample)]
	set.checked(InvIdempotent, len(sample))
	_ = parallel(ctx, r.cfg.CheckConcurrency, len(sample), func(i int) error {
		rec := sample[i]
		before := checks[rec].order
		o, err := r.client.PlaceOrder(ctx, rec.customer.Token, rec.key, rec.lines)
		switch {
		case err != nil:
			set.violate(InvIdempotent, "re-sending order %s (key %s) failed: %v", rec.id, rec.key, err)
		case o.ID != rec.id:
			set.violate(InvIdempotent, "re-sending key %s answered order %s, first answer was %s", rec.key, o.ID, rec.id)
		case o.Version != before.Version || o.Status != before.Status:
			set.violate(InvIdempotent, "re-sending key %s moved order %s from %s v%d to %s v%d",
				rec.key, rec.id, before.Status, before.Version, o.Status, o.Version)
		}
		return nil
	})
}

// checkAccounts compares every product's stock and every customer's money
// with what the confirmed orders took.
func (r *runner) checkAccounts(ctx context.Context, set *invariantSet, committed map[string]int, captured map[string]money.Amount) {
	products, customers := r.fx.allProducts(), r.fx.allCustomers()
	set.checked(InvStock, len(products))
	set.checked(InvCredit, len(customers))
	_ = parallel(ctx, r.cfg.CheckConcurrency, len(products)+len(customers), func(i int) error {
		if i < len(products) {
			ref := products[i]
			p, err := r.client.Product(ctx, r.fx.adminToken, ref.ID)
			if err != nil {
				set.violate(InvStock, "product %s cannot be read: %v", ref.ID, err)
				return nil
			}
			for _, v := range stockViolations(ref, p, committed[ref.ID]) {
				set.violate(InvStock, "%s", v)
			}
			return nil
		}
		ref := customers[i-len(products)]
		c, err := r.client.Customer(ctx, r.fx.adminToken, ref.ID)
		if err != nil {
			set.violate(InvCredit, "customer %s cannot be read: %v", ref.ID, err)
			return nil
		}
		for _, v := range creditViolations(ref, c, captured[ref.ID]) {
			set.violate(InvCredit, "%s", v)
		}
		return nil
	})
}

// stockViolations checks one product against the units its confirmed
// orders took.
func stockViolations(ref *productRef, p Product, committed int) []string {
	var out []string
	if p.Reserved != 0 {
		out = append(out, fmt.Sprintf("product %s: %d units still reserved", ref.ID, p.Reserved))
	}
	if p.Available < 0 {
		out = append(out, fmt.Sprintf("product %s: available %d is negative", ref.ID, p.Available))
	}
	if p.Available+p.Reserved+committed != ref.InitialStock {
		out = append(out, fmt.Sprintf("product %s: initial %d != available %d + reserved %d + confirmed %d",
			ref.ID, ref.InitialStock, p.Available, p.Reserved, committed))
	}
	return out
}

// creditViolations checks one account against the totals of its confirmed
// orders.
func creditViolations(ref *customerRef, c Customer, captured money.Amount) []string {
	balance, err1 := money.Parse(c.Balance)
	held, err2 := money.Parse(c.Held)
	if err1 != nil || err2 != nil {
		return []string{fmt.Sprintf("customer %s: unreadable amounts balance %q held %q", ref.ID, c.Balance, c.Held)}
	}
	var out []string
	if held != 0 {
		out = append(out, fmt.Sprintf("customer %s: %s still held", ref.ID, held))
	}
	if balance < 0 {
		out = append(out, fmt.Sprintf("customer %s: balance %s is negative", ref.ID, balance))
	}
	if balance+held+captured != ref.InitialCredit {
		out = append(out, fmt.Sprintf("customer %s: initial %s != balance %s + held %s + confirmed %s",
			ref.ID, ref.InitialCredit, balance, held, captured))
	}
	return out
}
