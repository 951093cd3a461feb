package reconcile

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/orderflow/orderflow/command/domain/ordering"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/projections"
	"github.com/orderflow/orderflow/projections/documents"
)

// This file holds the judgements of a run, free of any server: what a
// document should show, and what the other contexts should have recorded
// for a finished order.

// finding is a Finding with the way the run may heal it.
type finding struct {
	Finding
	// reproject names the projection whose document Finding names, to be
	// written again from the event store.
	reproject projections.Name
	// resend is a command the order's saga should send again; resendOpen
	// asks the saga for whatever its open phase waits on.
	resend     messages.Command
	resendOpen bool
}

func (f finding) healable() bool { return f.reproject != "" || f.resend != nil || f.resendOpen }

// aggregate is what the command side folds a stream into.
type aggregate interface {
	Apply(messages.Event)
	Version() int
}

// document is a read-model document as read: its version and what it
// shows, as text a person can compare with the stream's.
type document struct {
	found   bool
	version int
	view    string
}

// tracker folds one stream with its aggregate and remembers what the
// stream's document should show, at the stream's head and at the version
// the document was written at.
type tracker[A aggregate] struct {
	agg  A
	view func(A) string
	doc  document
	// atDoc is the aggregate's view at doc.version.
	atDoc string
	// lastAt is when the newest event was appended; afterDocAt when the
	// first event the document does not reflect was (the first event for
	// a missing document).
	lastAt, afterDocAt time.Time
}

func newTracker[A aggregate](agg A, view func(A) string, doc document) *tracker[A] {
	return &tracker[A]{agg: agg, view: view, doc: doc}
}

// apply folds the next event of the stream, appended at at.
func (t *tracker[A]) apply(at time.Time, e messages.Event) {
	t.agg.Apply(e)
	v := t.agg.Version()
	t.lastAt = at
	if t.doc.found && v == t.doc.version {
		t.atDoc = t.view(t.agg)
	}
	if v == t.doc.version+1 {
		t.afterDocAt = at
	}
}

// head is what the stream says now.
func (t *tracker[A]) head() string {
	return fmt.Sprintf("version %d: %s", t.agg.Version(), t.view(t.agg))
}

// judge compares the document with the stream. A document behind its
// stream is only wrong once the first event it misses is older than
// cutoff (before that the projector may simply not be there yet), but
// what it shows must match the stream at its own version right away.
func (t *tracker[A]) judge(cutoff time.Time) (expected, found string, diverged bool) {
	v := t.agg.Version()
	switch {
	case !t.doc.found && t.afterDocAt.Before(cutoff):
		return t.head(), "no document", true
	case !t.doc.found:
	case t.doc.version > v:
		return t.head(), fmt.Sprintf("version %d, ahead of the event store: %s", t.doc.version, t.doc.view), true
	case t.doc.version < v && t.afterDocAt.Before(cutoff):
		return t.head(), fmt.Sprintf("version %d: %s", t.doc.version, t.doc.view), true
	case t.doc.view != t.atDoc:
		return fmt.Sprintf("version %d: %s", t.doc.version, t.atDoc), fmt.Sprintf("version %d: %s", t.doc.version, t.doc.view), true
	}
	return "", "", false
}

// healedBy reports whether a document read back after re-projecting it
// now matches the stream as folded (or is newer: the stream moved on
// meanwhile and the projection followed).
func (t *tracker[A]) healedBy(doc document) bool {
	v := t.agg.Version()
	return doc.found && (doc.version > v || (doc.version == v && doc.view == t.view(t.agg)))
}

// orderView is what an order's document must agree on with its stream.
func orderView(status messages.OrderStatus, steps []messages.SagaStep) string {
	s := make([]string, len(steps))
	for i, step := range steps {
		s[i] = string(step)
	}
	return fmt.Sprintf("%s, steps %s", status, strings.Join(s, ">"))
}

func orderAggregateView(o *ordering.Order) string { return orderView(o.Status(), o.CompletedSteps()) }

// orderDocumentView reads only the fields named in orderDocumentFields
// (check_orders.go): a page's check fetches no others.
func orderDocumentView(d documents.Order) document {
	return document{found: true, version: d.Version, view: orderView(d.Status, d.CompletedSteps)}
}

// claimState is where one order's reservation at a product, or its hold
// on an account, stands.
type claimState int

const (
	claimHeld     claimState = iota + 1 // reserved / authorized
	claimSettled                        // committed / captured
	claimUndone                         // released / voided
	claimRejected                       // refused
)

// claim is one order's reservation at one product or hold on one
// account, from the events that name the order.
type claim struct {
	stream string
	state  claimState
	// amount is what was reserved or authorized ("2 units", "25.00").
	amount string
	// settled counts the commits or captures.
	settled int
	lastAt  time.Time
}

// claims folds the inventory or payments events naming orders (in stream
// and version order) into each order's claims, by order and stream.
func claims(events []namedEvent) map[string]map[string]*claim {
	out := map[string]map[string]*claim{}
	for _, ev := range events {
		var order, amount string
		var state claimState
		switch e := ev.event.(type) {
		case messages.StockReserved:
			order, state, amount = e.OrderID, claimHeld, units(e.Quantity)
		case messages.StockReservationRejected:
			order, state, amount = e.OrderID, claimRejected, units(e.Requested)
		case messages.StockReleased:
			order, state = e.OrderID, claimUndone
		case messages.StockCommitted:
			order, state = e.OrderID, claimSettled
		case messages.PaymentAuthorized:
			order, state, amount = e.OrderID, claimHeld, e.Amount.String()
		case messages.PaymentAuthorizationRejected:
			order, state, amount = e.OrderID, claimRejected, e.Amount.String()
		case messages.PaymentVoided:
			order, state = e.OrderID, claimUndone
		case messages.PaymentCaptured:
			order, state = e.OrderID, claimSettled
		default:
			continue
		}
		if out[order] == nil {
			out[order] = map[string]*claim{}
		}
		c := out[order][ev.stream]
		if c == nil {
			c = &claim{stream: ev.stream}
			out[order][ev.stream] = c
		}
		c.state, c.lastAt = state, ev.at
		if amount != "" {
			c.amount = amount
		}
		if state == claimSettled {
			c.settled++
		}
	}
	return out
}

func units(n int) string {
	if n == 1 {
		return "1 unit"
	}
	return fmt.Sprintf("%d units", n)
}

// namedEvent is an event of the inventory or payments context that names
// an order.
type namedEvent struct {
	stream string
	at     time.Time
	event  messages.Event
}

// vocabulary names the states of a claim in one context's words.
type vocabulary struct{ held, settled, undone, rejected string }

var (
	stockWords   = vocabulary{held: "reserved", settled: "committed", undone: "released", rejected: "rejected"}
	paymentWords = vocabulary{held: "authorized and held", settled: "captured", undone: "voided", rejected: "rejected"}
)

func (w vocabulary) describe(c *claim) string {
	if c == nil {
		return "nothing recorded"
	}
	var s string
	switch c.state {
	case claimHeld:
		s = w.held
	case claimSettled:
		s = w.settled
		if c.settled > 1 {
			s = fmt.Sprintf("%s %d times", w.settled, c.settled)
		}
	case claimUndone:
		s = w.undone
	case claimRejected:
		s = w.rejected
	}
	if c.amount != "" {
		s += " (" + c.amount + ")"
	}
	return s
}

// finishedOrder is what the settlement of a final order is judged on.
type finishedOrder struct {
	id         string
	status     messages.OrderStatus
	customerID string
	products   []string
}

func newFinishedOrder(o *ordering.Order) finishedOrder {
	f := finishedOrder{id: o.ID(), status: o.Status(), customerID: o.CustomerID()}
	for _, l := range o.Items() {
		f.products = append(f.products, l.ProductID)
	}
	return f
}

// judgeSettlement checks a final order against its claims at the products
// (stock) and accounts (payment) that name it: a CONFIRMED order has every
// line committed and its payment captured, once; a CANCELLED or FAILED one
// holds nothing and sold nothing; and no order holds anything at a
// product or account it does not use. Claims that moved after cutoff are
// in flight and not judged.
func judgeSettlement(o finishedOrder, stock, payment map[string]*claim, cutoff time.Time) []finding {
	var out []finding
	recent := func(c *claim) bool { return c != nil && !c.lastAt.Before(cutoff) }
	add := func(f finding) { out = append(out, f) }

	for _, p := range o.products {
		c := stock[p]
		if recent(c) {
			continue
		}
		base := Finding{OrderID: o.id, ProductID: p, Found: stockWords.describe(c)}
		switch {
		case o.status == messages.StatusConfirmed && c != nil && c.state == claimSettled && c.settled > 1:
			base.Kind, base.Expected = StockCommittedTwice, "committed once"
			base.Action = "the order's units left the stock more than once: find the repeated StockCommitted events of the product and correct its stock"
			add(finding{Finding: base})
		case o.status == messages.StatusConfirmed && c != nil && c.state == claimSettled:
		case o.status == messages.StatusConfirmed && c != nil && c.state == claimHeld:
			base.Kind, base.Expected = StockNotCommitted, "committed"
			add(finding{Finding: base, resend: messages.CommitStock{ProductID: p, OrderID: o.id}})
		case o.status == messages.StatusConfirmed:
			base.Kind, base.Expected = StockNotCommitted, "committed"
			base.Action = "the order was confirmed without stock set aside for this line: restock and commit by hand, or refund the customer"
			add(finding{Finding: base})
		case c != nil && c.state == claimHeld:
			base.Kind, base.Expected = StockNotReleased, "released"
			add(finding{Finding: base, resend: messages.ReleaseStock{ProductID: p, OrderID: o.id}})
		case c != nil && c.state == claimSettled:
			base.Kind, base.Expected = StockNotReleased, "released"
			base.Action = "stock of a " + string(o.status) + " order was sold: put the units back by hand (restock)"
			add(finding{Finding: base})
		}
	}
	for p, c := range stock {
		if slices.Contains(o.products, p) || recent(c) || (c.state != claimHeld && c.state != claimSettled) {
			continue
		}
		add(finding{Finding: Finding{Kind: ReservationOrphaned, OrderID: o.id, ProductID: p,
			Expected: "nothing: the product is not a line of the order", Found: stockWords.describe(c),
			Action: "find who reserved this product for the order (its event stream) and give the units back by hand"}})
	}

	if c := payment[o.customerID]; !recent(c) {
		base := Finding{OrderID: o.id, CustomerID: o.customerID, Found: paymentWords.describe(c)}
		switch {
		case o.status == messages.StatusConfirmed && c != nil && c.state == claimSettled && c.settled > 1:
			base.Kind, base.Expected = PaymentCapturedTwice, "captured once"
			base.Action = "the customer paid more than once for the order: find the repeated PaymentCaptured events and refund the difference"
			add(finding{Finding: base})
		case o.status == messages.StatusConfirmed && c != nil && c.state == claimSettled:
		case o.status == messages.StatusConfirmed && c != nil && c.state == claimHeld:
			base.Kind, base.Expected = PaymentNotCaptured, "captured"
			add(finding{Finding: base, resend: messages.CapturePayment{CustomerID: o.customerID, OrderID: o.id}})
		case o.status == messages.StatusConfirmed:
			base.Kind, base.Expected = PaymentNotCaptured, "captured"
			base.Action = "the order was confirmed without money held for it: collect the payment by hand or cancel the sale"
			add(finding{Finding: base})
		case c != nil && c.state == claimHeld:
			base.Kind, base.Expected = HoldNotVoided, "voided"
			add(finding{Finding: base, resend: messages.VoidPayment{CustomerID: o.customerID, OrderID: o.id}})
		case c != nil && c.state == claimSettled:
			base.Kind, base.Expected = HoldNotVoided, "voided"
			base.Action = "the customer paid for a " + string(o.status) + " order: refund it by hand (add funds)"
			add(finding{Finding: base})
		}
	}
	for customer, c := range payment {
		if customer == o.customerID || recent(c) || (c.state != claimHeld && c.state != claimSettled) {
			continue
		}
		add(finding{Finding: Finding{Kind: HoldOrphaned, OrderID: o.id, CustomerID: customer,
			Expected: "nothing: the order is " + o.customerID + "'s", Found: paymentWords.describe(c),
			Action: "find who charged this account for the order (its event stream) and give the money back by hand"}})
	}
	slices.SortStableFunc(out, func(a, b finding) int {
		return strings.Compare(string(a.Kind)+a.ProductID+a.CustomerID, string(b.Kind)+b.ProductID+b.CustomerID)
	})
	return out
}
