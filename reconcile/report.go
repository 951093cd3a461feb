package reconcile

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Kind names a sort of divergence. It is the kind label of the
// orderflow_divergences gauge and never changes meaning.
type Kind string

// The kinds of divergence a run looks for.
const (
	// DocumentMissing: an order has events but no read-model document.
	DocumentMissing Kind = "document_missing"
	// DocumentStale: an order's document is behind its stream, or shows
	// another status or other steps than the stream at its version.
	DocumentStale Kind = "document_stale"
	// ProductReadModelDiverged: a product's document disagrees with its
	// stream (available, reserved, version), or is missing.
	ProductReadModelDiverged Kind = "product_read_model_diverged"
	// CustomerReadModelDiverged: a customer's document disagrees with its
	// stream (balance, held, version), or is missing.
	CustomerReadModelDiverged Kind = "customer_read_model_diverged"
	// ReservationOrphaned: stock is held (or sold) for an order that does
	// not exist or has no line of that product.
	ReservationOrphaned Kind = "reservation_orphaned"
	// HoldOrphaned: money is held (or taken) for an order that does not
	// exist or belongs to another customer.
	HoldOrphaned Kind = "hold_orphaned"
	// StockNotCommitted: a CONFIRMED order's line is not committed.
	StockNotCommitted Kind = "stock_not_committed"
	// StockCommittedTwice: a line was committed more than once.
	StockCommittedTwice Kind = "stock_committed_twice"
	// PaymentNotCaptured: a CONFIRMED order's payment is not captured.
	PaymentNotCaptured Kind = "payment_not_captured"
	// PaymentCapturedTwice: an order's payment was captured more than once.
	PaymentCapturedTwice Kind = "payment_captured_twice"
	// StockNotReleased: a CANCELLED or FAILED order still holds stock (or
	// had it committed).
	StockNotReleased Kind = "stock_not_released"
	// HoldNotVoided: a CANCELLED or FAILED order still holds money (or had
	// it captured).
	HoldNotVoided Kind = "hold_not_voided"
	// SagaOverdue: an open saga's deadline passed longer ago than the
	// grace period: nothing fired it.
	SagaOverdue Kind = "saga_overdue"
	// SagaParked: a saga gave up compensating or settling and waits for a
	// person.
	SagaParked Kind = "saga_parked"
	// OutboxUnpublished: an event older than the grace period that the
	// relay has not published.
	OutboxUnpublished Kind = "outbox_unpublished"
)

// Kinds lists every kind, in the order a report shows them.
func Kinds() []Kind {
	return []Kind{
		DocumentMissing, DocumentStale, ProductReadModelDiverged, CustomerReadModelDiverged,
		ReservationOrphaned, HoldOrphaned,
		StockNotCommitted, StockCommittedTwice, PaymentNotCaptured, PaymentCapturedTwice,
		StockNotReleased, HoldNotVoided,
		SagaOverdue, SagaParked, OutboxUnpublished,
	}
}

// Resolution is what became of a finding.
type Resolution string

// Resolutions.
const (
	// Healed: the run repaired it (a document re-projected and read back
	// equal to its stream), or handed it to the saga, which sent the
	// missing command again; the next run shows that it landed.
	Healed Resolution = "healed"
	// NeedsPerson: nothing safe could be done automatically, or the heal
	// failed; Action says what to look at.
	NeedsPerson Resolution = "needs_person"
	// Healable: a dry run found it; a run that heals would have healed it.
	Healable Resolution = "healable"
)

// Finding is one place where the data disagree.
type Finding struct {
	Kind Kind `json:"kind"`
	// The ids involved, as far as the kind has them.
	OrderID    string `json:"orderId,omitempty"`
	ProductID  string `json:"productId,omitempty"`
	CustomerID string `json:"customerId,omitempty"`
	// Context and EventID name an event (outbox_unpublished).
	Context string `json:"context,omitempty"`
	EventID string `json:"eventId,omitempty"`
	// Expected is what the source of truth says; Found what is there.
	Expected   string     `json:"expected"`
	Found      string     `json:"found"`
	Resolution Resolution `json:"resolution"`
	// Action says what was done, or what a person should do.
	Action string `json:"action"`
}

// Checked counts what a run compared.
type Checked struct {
	Orders    int `json:"orders"`
	Products  int `json:"products"`
	Customers int `json:"customers"`
	// Sagas counts the overdue and parked sagas looked at.
	Sagas int `json:"sagas"`
}

// Report is the outcome of one run.
type Report struct {
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	// Healing is false for a dry run, which only reports.
	Healing bool `json:"healing"`
	// Grace is how old a difference had to be to count.
	Grace Duration `json:"grace"`
	// Since, when set, limited the orders, products and customers
	// compared to those with an event inserted since then (a periodic
	// run between full ones, see Config.FullInterval); unset, the run
	// compared every one.
	Since *time.Time `json:"since,omitempty"`
	// FullAt is when the newest run that compared every order, product
	// and customer started, this one or an earlier one (zero: none known).
	FullAt  time.Time `json:"fullAt,omitzero"`
	Checked Checked   `json:"checked"`
	// Counts has every finding per kind, listed or not; kinds without
	// findings are left out.
	Counts map[Kind]int `json:"counts"`
	// Healed, NeedsPerson and Healable split the findings by resolution.
	Healed      int `json:"healed"`
	NeedsPerson int `json:"needsPerson"`
	Healable    int `json:"healable"`
	// Findings lists at most Config.MaxFindings of each kind; Omitted
	// counts the others (they were healed all the same).
	Findings []Finding `json:"findings"`
	Omitted  int       `json:"omitted"`
}

// Total is the number of findings, listed or not.
func (r Report) Total() int { return r.Healed + r.NeedsPerson + r.Healable }

// Duration is a time.Duration that reads and writes as "1m30s" in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as Go prints it.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads what MarshalJSON wrote.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// WriteTable prints the report for a person: a summary line, then one row
// per finding.
func (r Report) WriteTable(w io.Writer) error {
	mode := "healing"
	if !r.Healing {
		mode = "dry run"
	}
	scope := "every order, product and customer"
	if r.Since != nil {
		scope = "those changed since " + r.Since.UTC().Format(time.RFC3339)
	}
	_, err := fmt.Fprintf(w, "reconciliation of %s (%s, took %s, grace %s, %s): checked %d orders, %d products, %d customers, %d sagas\n",
		r.StartedAt.UTC().Format(time.RFC3339), mode, r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond), time.Duration(r.Grace),
		scope, r.Checked.Orders, r.Checked.Products, r.Checked.Customers, r.Checked.Sagas)
	if err != nil {
		return err
	}
	if r.Total() == 0 {
		_, err := fmt.Fprintln(w, "no divergences")
		return err
	}
	var counts []string
	for _, k := range Kinds() {
		if n := r.Counts[k]; n > 0 {
			counts = append(counts, fmt.Sprintf("%s %d", k, n))
		}
	}
	summary := fmt.Sprintf("%d healed, %d need a person", r.Healed, r.NeedsPerson)
	if !r.Healing {
		summary = fmt.Sprintf("%d healable, %d need a person", r.Healable, r.NeedsPerson)
	}
	if _, err := fmt.Fprintf(w, "%d divergences (%s): %s\n\n", r.Total(), strings.Join(counts, ", "), summary); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tORDER\tPRODUCT\tCUSTOMER\tEVENT\tEXPECTED\tFOUND\tRESOLUTION\tACTION")
	for _, f := range r.Findings {
		event := f.EventID
		if event != "" {
			event = f.Context + "/" + event
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Kind, dash(f.OrderID), dash(f.ProductID), dash(f.CustomerID), dash(event),
			f.Expected, f.Found, f.Resolution, f.Action)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Omitted > 0 {
		_, err := fmt.Fprintf(w, "... and %d more findings not listed (see the counts)\n", r.Omitted)
		return err
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
