package documents

import (
	"slices"
	"time"

	"github.com/orderflow/orderflow/command/domain/ordering"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/messages"
)

// Order is an order as stored in the orders index: everything the admin
// search filters on and the API shows, folded from the order stream. Field
// names are the index mapping (projections/mappings/orders_v1.json): add
// fields with a new mapping version, never rename one in place.
type Order struct {
	ID         string `json:"id"`
	CustomerID string `json:"customerId"`
	// CustomerName and CustomerEmail are looked up in the payments event
	// store when the order is first projected, for free-text search; empty
	// when the customer could not be found.
	CustomerName          string               `json:"customerName,omitempty"`
	CustomerEmail         string               `json:"customerEmail,omitempty"`
	Status                messages.OrderStatus `json:"status"`
	CurrentStep           messages.SagaStep    `json:"currentStep,omitempty"`
	CompletedSteps        []messages.SagaStep  `json:"completedSteps"`
	PendingSteps          []messages.SagaStep  `json:"pendingSteps"`
	CancellationRequested bool                 `json:"cancellationRequested"`
	Items                 []OrderItem          `json:"items"`
	Total                 money.Amount         `json:"total"`
	Currency              string               `json:"currency"`
	Failure               *Failure             `json:"failure,omitempty"`
	Compensations         []Compensation       `json:"compensations"`
	CreatedAt             time.Time            `json:"createdAt"`
	UpdatedAt             time.Time            `json:"updatedAt"`
	// Version is the stream version of the last applied event, also the
	// document's external version in Elasticsearch.
	Version int `json:"version"`
	// Timeline has one entry per event of the stream, oldest first.
	Timeline []TimelineEntry `json:"timeline"`
}

// OrderItem is one order line with the catalog data frozen at
// placement.
type OrderItem struct {
	ProductID   string       `json:"productId"`
	ProductName string       `json:"productName"`
	SKU         string       `json:"sku"`
	Quantity    int          `json:"quantity"`
	UnitPrice   money.Amount `json:"unitPrice"`
	LineTotal   money.Amount `json:"lineTotal"`
}

// Failure is why an order ended CANCELLED or FAILED: the
// aggregate's own ordering.Failure (one definition, folded by
// ordering.Progress), whose JSON names are the index mapping's.
type Failure = ordering.Failure

// Compensation is one step the saga undid: the aggregate's own
// ordering.Compensation, whose JSON names are the index mapping's.
type Compensation = ordering.Compensation

// TimelineEntry is one event of the order's history. At is when the
// aggregate decided it; RecordedAt is when it was appended to the store.
type TimelineEntry struct {
	Version    int                  `json:"version"`
	EventID    string               `json:"eventId"`
	Type       string               `json:"type"`
	At         time.Time            `json:"at"`
	RecordedAt time.Time            `json:"recordedAt"`
	Step       messages.SagaStep    `json:"step,omitempty"`
	Status     messages.OrderStatus `json:"status,omitempty"`
	Detail     string               `json:"detail,omitempty"`
}

// NewOrder is the document of an order stream before its first
// event.
func NewOrder(id string) Order {
	return Order{
		ID:             id,
		CompletedSteps: []messages.SagaStep{},
		PendingSteps:   []messages.SagaStep{},
		Items:          []OrderItem{},
		Compensations:  []Compensation{},
		Timeline:       []TimelineEntry{},
	}
}

// ApplyOrderEvent returns doc with e applied. It is pure (doc is not
// modified) and trusts its caller to pass the stream's next event
// (e.Version == doc.Version+1); FoldOrder checks that. Status, steps,
// cancellation, compensations and failure come from the aggregate's own
// fold (ordering.Progress), so the read model and the aggregate agree on
// them by construction; the document adds the items as shown, the
// customer and the timeline.
func ApplyOrderEvent(doc Order, e Event) Order {
	d := doc.clone()
	d.ID = e.StreamID
	d.Version = e.Version
	if p, ok := e.Payload.(messages.OrderPlaced); ok {
		d.CustomerID = p.CustomerID
		d.Items = make([]OrderItem, len(p.Items))
		for i, l := range p.Items {
			d.Items[i] = OrderItem{
				ProductID: l.ProductID, ProductName: l.ProductName, SKU: l.SKU,
				Quantity: l.Quantity, UnitPrice: l.UnitPrice, LineTotal: l.UnitPrice * money.Amount(l.Quantity),
			}
		}
		d.Total, d.Currency = p.Total, p.Currency
		d.CreatedAt = p.PlacedAt
	}
	d.setProgress(d.progress().Apply(e.Payload))
	d.Timeline = append(d.Timeline, timelineEntry(e, d.Status))
	return d
}

// progress is the document's part of ordering.Progress. It shares the
// document's slices: Progress.Apply copies before it changes anything.
func (d Order) progress() ordering.Progress {
	return ordering.Progress{
		Status: d.Status, Completed: d.CompletedSteps, CancellationRequested: d.CancellationRequested, UpdatedAt: d.UpdatedAt,
		Compensations: d.Compensations, Failure: d.Failure,
	}
}

func (d *Order) setProgress(p ordering.Progress) {
	d.Status, d.CancellationRequested, d.UpdatedAt = p.Status, p.CancellationRequested, p.UpdatedAt
	d.CompletedSteps = cloneOrEmpty(p.Completed)
	d.CurrentStep, d.PendingSteps = p.CurrentStep(), p.PendingSteps()
	d.Compensations = cloneOrEmpty(p.Compensations)
	d.Failure = nil
	if f := p.Failure; f != nil {
		failure := *f
		d.Failure = &failure
	}
}

// timelineEntry is e as the order's history shows it; status is the
// order's after e.
func timelineEntry(e Event, status messages.OrderStatus) TimelineEntry {
	entry := TimelineEntry{Version: e.Version, EventID: e.ID, Type: e.Type, At: e.OccurredAt, RecordedAt: e.OccurredAt, Status: status}
	switch p := e.Payload.(type) {
	case messages.OrderPlaced:
		entry.At, entry.Step = p.PlacedAt, messages.StepOrderCreated
	case messages.OrderStepCompleted:
		entry.At, entry.Step = p.At, p.Step
	case messages.OrderCompensated:
		entry.At, entry.Step, entry.Detail = p.At, p.Step, joinDetail(p.Action, p.Reason)
	case messages.OrderCancellationRequested:
		entry.At, entry.Detail = p.At, joinDetail(p.Reason, by(p.By))
	case messages.OrderConfirmed:
		entry.At, entry.Step = p.At, messages.StepOrderConfirmed
	case messages.OrderCancelled:
		entry.At, entry.Step, entry.Detail = p.At, p.Step, joinDetail(string(p.Code), p.Message)
	case messages.OrderFailed:
		entry.At, entry.Step, entry.Detail = p.At, p.Step, joinDetail(string(p.Code), p.Message)
	}
	return entry
}

// FoldOrder applies events to doc in version order, skipping those the
// document already reflects (duplicates, late redeliveries). A missing
// version stops the fold with a *GapError and the document as far as it
// got, so a caller heals from the event store instead of skipping the hole.
func FoldOrder(doc Order, events ...Event) (Order, error) {
	return fold(ApplyOrderEvent, func(d Order) int { return d.Version }, doc, events)
}

// clone copies every slice and pointer, so a fold never shares state with
// its input.
func (d Order) clone() Order {
	c := d
	c.CompletedSteps = cloneOrEmpty(d.CompletedSteps)
	c.PendingSteps = cloneOrEmpty(d.PendingSteps)
	c.Items = cloneOrEmpty(d.Items)
	c.Compensations = cloneOrEmpty(d.Compensations)
	c.Timeline = cloneOrEmpty(d.Timeline)
	if d.Failure != nil {
		f := *d.Failure
		c.Failure = &f
	}
	return c
}

func cloneOrEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return slices.Clone(s)
}

func joinDetail(parts ...string) string {
	out := ""
	for _, p := range parts {
		if p == "" {
			continue
		}
		if out != "" {
			out += ": "
		}
		out += p
	}
	return out
}

func by(who string) string {
	if who == "" {
		return ""
	}
	return "by " + who
}
