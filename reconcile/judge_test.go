package reconcile

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/command/domain/inventory"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/projections/documents"
)

var t0 = time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC)

func productAggregateView(p *inventory.Product) string {
	return productView(p.Available(), p.Reserved())
}

// folded is product p-1 after created (10 units, at t0), reserved 2 for o-1
// (t0+1m) and reserved 3 for o-2 (t0+2m), tracked against doc.
func folded(doc document) *tracker[*inventory.Product] {
	t := newTracker(&inventory.Product{}, productAggregateView, doc)
	t.apply(t0, messages.ProductCreated{ProductID: "p-1", SKU: "S", Name: "N", Price: 100, InitialStock: 10})
	t.apply(t0.Add(time.Minute), messages.StockReserved{ProductID: "p-1", OrderID: "o-1", Quantity: 2})
	t.apply(t0.Add(2*time.Minute), messages.StockReserved{ProductID: "p-1", OrderID: "o-2", Quantity: 3})
	return t
}

func TestDocumentJudgement(t *testing.T) {
	t.Parallel()
	head := "version 3: available 5, reserved 5"
	for _, tc := range []struct {
		name     string
		doc      document
		cutoff   time.Time
		diverged bool
		expected string
		found    string
	}{
		{name: "up to date", doc: document{found: true, version: 3, view: "available 5, reserved 5"}, cutoff: t0.Add(time.Hour)},
		{name: "missing, young", doc: document{}, cutoff: t0},
		{name: "missing, old", doc: document{}, cutoff: t0.Add(time.Second), diverged: true, expected: head, found: "no document"},
		{name: "behind while the next event is young", doc: document{found: true, version: 2, view: "available 8, reserved 2"}, cutoff: t0.Add(2 * time.Minute)},
		{name: "behind for longer than the grace", doc: document{found: true, version: 2, view: "available 8, reserved 2"}, cutoff: t0.Add(3 * time.Minute),
			diverged: true, expected: head, found: "version 2: available 8, reserved 2"},
		{name: "behind and wrong at its own version", doc: document{found: true, version: 2, view: "available 9, reserved 1"}, cutoff: t0,
			diverged: true, expected: "version 2: available 8, reserved 2", found: "version 2: available 9, reserved 1"},
		{name: "wrong at the head version", doc: document{found: true, version: 3, view: "available 6, reserved 4"}, cutoff: t0,
			diverged: true, expected: head, found: "version 3: available 6, reserved 4"},
		{name: "ahead of the event store", doc: document{found: true, version: 4, view: "available 5, reserved 5"}, cutoff: t0,
			diverged: true, expected: head, found: "version 4, ahead of the event store: available 5, reserved 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			expected, found, diverged := folded(tc.doc).judge(tc.cutoff)
			require.Equal(t, tc.diverged, diverged)
			require.Equal(t, tc.expected, expected)
			require.Equal(t, tc.found, found)
		})
	}

	tr := folded(document{})
	require.True(t, tr.healedBy(document{found: true, version: 3, view: "available 5, reserved 5"}))
	require.True(t, tr.healedBy(document{found: true, version: 4, view: "anything"}), "the stream moved on and the document followed")
	require.False(t, tr.healedBy(document{found: true, version: 3, view: "available 6, reserved 4"}))
	require.False(t, tr.healedBy(document{found: true, version: 2, view: "available 8, reserved 2"}))
	require.False(t, tr.healedBy(document{}))
}

// claimsOf builds one order's claims from events of the inventory and
// payments streams, all appended at t0.
func claimsOf(events ...namedEvent) map[string]*claim { return claims(events)["o-1"] }

func at(stream string, e messages.Event) namedEvent {
	return namedEvent{stream: stream, at: t0, event: e}
}

func reservedAt(p string, qty int) namedEvent {
	return at(p, messages.StockReserved{ProductID: p, OrderID: "o-1", Quantity: qty})
}
func committedAt(p string) namedEvent {
	return at(p, messages.StockCommitted{ProductID: p, OrderID: "o-1", Quantity: 1})
}
func releasedAt(p string) namedEvent {
	return at(p, messages.StockReleased{ProductID: p, OrderID: "o-1", Quantity: 1})
}
func authorizedAt(c string) namedEvent {
	return at(c, messages.PaymentAuthorized{CustomerID: c, OrderID: "o-1", Amount: 250})
}
func capturedAt(c string) namedEvent {
	return at(c, messages.PaymentCaptured{CustomerID: c, OrderID: "o-1", Amount: 250})
}
func voidedAt(c string) namedEvent {
	return at(c, messages.PaymentVoided{CustomerID: c, OrderID: "o-1", Amount: 250})
}

// brief is a finding as the table below states it.
type brief struct {
	kind    Kind
	stream  string
	found   string
	healing messages.Command
}

func briefs(fs []finding) []brief {
	out := []brief{}
	for _, f := range fs {
		out = append(out, brief{kind: f.Kind, stream: f.ProductID + f.CustomerID, found: f.Found, healing: f.resend})
	}
	return out
}

func TestSettlementJudgement(t *testing.T) {
	t.Parallel()
	confirmed := finishedOrder{id: "o-1", status: messages.StatusConfirmed, customerID: "c-1", products: []string{"p-1", "p-2"}}
	cancelled := confirmed
	cancelled.status = messages.StatusCancelled
	settled := []namedEvent{reservedAt("p-1", 1), committedAt("p-1"), reservedAt("p-2", 2), committedAt("p-2")}
	paid := []namedEvent{authorizedAt("c-1"), capturedAt("c-1")}
	undone := []namedEvent{reservedAt("p-1", 1), releasedAt("p-1"), reservedAt("p-2", 2), releasedAt("p-2")}
	voided := []namedEvent{authorizedAt("c-1"), voidedAt("c-1")}

	for _, tc := range []struct {
		name    string
		order   finishedOrder
		stock   []namedEvent
		payment []namedEvent
		want    []brief
	}{
		{name: "confirmed and settled", order: confirmed, stock: settled, payment: paid, want: []brief{}},
		{name: "cancelled and undone", order: cancelled, stock: undone, payment: voided, want: []brief{}},
		{name: "cancelled before anything was held", order: cancelled, want: []brief{}},
		{name: "confirmed, a line still reserved and the payment held", order: confirmed,
			stock:   []namedEvent{reservedAt("p-1", 1), committedAt("p-1"), reservedAt("p-2", 2)},
			payment: []namedEvent{authorizedAt("c-1")},
			want: []brief{
				{PaymentNotCaptured, "c-1", "authorized and held (2.50)", messages.CapturePayment{CustomerID: "c-1", OrderID: "o-1"}},
				{StockNotCommitted, "p-2", "reserved (2 units)", messages.CommitStock{ProductID: "p-2", OrderID: "o-1"}},
			}},
		{name: "confirmed without stock or money set aside", order: confirmed,
			stock: []namedEvent{reservedAt("p-1", 1), committedAt("p-1"), reservedAt("p-2", 2), releasedAt("p-2")},
			want: []brief{
				{PaymentNotCaptured, "c-1", "nothing recorded", nil},
				{StockNotCommitted, "p-2", "released (2 units)", nil},
			}},
		{name: "confirmed, committed and captured twice", order: confirmed,
			stock:   append(settled, committedAt("p-1")),
			payment: append(paid, capturedAt("c-1")),
			want: []brief{
				{PaymentCapturedTwice, "c-1", "captured 2 times (2.50)", nil},
				{StockCommittedTwice, "p-1", "committed 2 times (1 unit)", nil},
			}},
		{name: "cancelled, a reservation and the hold back", order: cancelled,
			stock:   append(undone, reservedAt("p-2", 2)),
			payment: append(voided, authorizedAt("c-1")),
			want: []brief{
				{HoldNotVoided, "c-1", "authorized and held (2.50)", messages.VoidPayment{CustomerID: "c-1", OrderID: "o-1"}},
				{StockNotReleased, "p-2", "reserved (2 units)", messages.ReleaseStock{ProductID: "p-2", OrderID: "o-1"}},
			}},
		{name: "cancelled, yet sold and paid", order: cancelled, stock: settled, payment: paid,
			want: []brief{
				{HoldNotVoided, "c-1", "captured (2.50)", nil},
				{StockNotReleased, "p-1", "committed (1 unit)", nil},
				{StockNotReleased, "p-2", "committed (2 units)", nil},
			}},
		{name: "held at a product and an account the order does not use", order: confirmed,
			stock:   append(settled, reservedAt("p-9", 4)),
			payment: append(paid, authorizedAt("c-9")),
			want: []brief{
				{HoldOrphaned, "c-9", "authorized and held (2.50)", nil},
				{ReservationOrphaned, "p-9", "reserved (4 units)", nil},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := judgeSettlement(tc.order, claimsOf(tc.stock...), claimsOf(tc.payment...), t0.Add(time.Second))
			require.Equal(t, tc.want, briefs(got))
			for _, f := range got {
				require.Equal(t, "o-1", f.OrderID)
				require.NotEmpty(t, f.Expected)
				if f.resend == nil {
					require.NotEmpty(t, f.Action, "a finding for a person says what to look at")
				}
			}
		})
	}

	// Claims that moved after the cutoff are in flight: a compensation on
	// its way is not judged yet.
	inFlight := []namedEvent{{stream: "p-2", at: t0.Add(time.Minute), event: messages.StockReserved{ProductID: "p-2", OrderID: "o-1", Quantity: 2}}}
	require.Empty(t, judgeSettlement(cancelled, claimsOf(inFlight...), nil, t0.Add(time.Second)))
}

func TestReportTableAndJSON(t *testing.T) {
	t.Parallel()
	clean := Report{StartedAt: t0, FinishedAt: t0.Add(1500 * time.Millisecond), Healing: true, Grace: Duration(time.Minute), Counts: map[Kind]int{}}
	var out bytes.Buffer
	require.NoError(t, clean.WriteTable(&out))
	require.Contains(t, out.String(), "no divergences")

	r := clean
	r.Counts = map[Kind]int{DocumentMissing: 1, OutboxUnpublished: 3}
	r.Healed, r.NeedsPerson, r.Omitted = 1, 3, 2
	r.Findings = []Finding{
		{Kind: DocumentMissing, OrderID: "o-1", Expected: "version 6: CONFIRMED", Found: "no document", Resolution: Healed, Action: "re-projected from the event store"},
		{Kind: OutboxUnpublished, Context: "inventory", EventID: "e-1", ProductID: "p-1", Expected: "published to Kafka", Found: "not published", Resolution: NeedsPerson, Action: "check the relay"},
	}
	out.Reset()
	require.NoError(t, r.WriteTable(&out))
	require.Contains(t, out.String(), "4 divergences (document_missing 1, outbox_unpublished 3): 1 healed, 3 need a person")
	require.Contains(t, out.String(), "inventory/e-1")
	require.Contains(t, out.String(), "and 2 more findings not listed")

	raw, err := json.Marshal(r)
	require.NoError(t, err)
	var back Report
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Equal(t, r.Findings, back.Findings)
	require.Equal(t, r.Counts, back.Counts)
	require.Equal(t, time.Minute, time.Duration(back.Grace))
	require.Contains(t, string(raw), `"grace":"1m0s"`)
	require.Contains(t, string(raw), `"kind":"document_missing"`)
}

// TestOrderDocumentFieldsAreWhatTheViewReads: a page's check fetches only
// orderDocumentFields of each order document (as Elasticsearch's
// _source_includes does, emulated here), and must judge it as it would
// the whole document. Fails when orderDocumentView starts reading a field
// the list lacks.
func TestOrderDocumentFieldsAreWhatTheViewReads(t *testing.T) {
	full := documents.Order{
		ID: "order-1", CustomerID: "customer-1", CustomerName: "Ada", CustomerEmail: "ada@example.com",
		Status: messages.StatusCancelled, CurrentStep: messages.StepPaymentAuthorized,
		CompletedSteps:        []messages.SagaStep{messages.StepOrderCreated, messages.StepInventoryReserved},
		PendingSteps:          []messages.SagaStep{messages.StepOrderConfirmed},
		CancellationRequested: true,
		Items:                 []documents.OrderItem{{ProductID: "product-1", ProductName: "Tea", SKU: "T-1", Quantity: 2}},
		Currency:              "EUR", Failure: &documents.Failure{Code: "PAYMENT_FAILED", Message: "declined"},
		CreatedAt: t0, UpdatedAt: t0.Add(time.Second), Version: 7,
		Timeline: []documents.TimelineEntry{{Version: 1, EventID: "e-1", Type: "ordering.OrderPlaced", At: t0}},
	}
	raw, err := json.Marshal(full)
	require.NoError(t, err)
	var all map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &all))
	kept := map[string]json.RawMessage{}
	for _, f := range orderDocumentFields {
		require.Contains(t, all, f, "orderDocumentFields names %q, which order documents do not have", f)
		kept[f] = all[f]
	}
	filtered, err := json.Marshal(kept)
	require.NoError(t, err)

	want, err := decodeOrderDocument(raw)
	require.NoError(t, err)
	got, err := decodeOrderDocument(filtered)
	require.NoError(t, err)
	require.Equal(t, want, got)
}
