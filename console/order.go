package console

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// orderPage is the data of an order page's shell: only the id, from the
// URL.
type orderPage struct{ ID string }

func orderPageData(r *http.Request) (string, any) {
	id := r.PathValue("id")
	return "Order " + id, orderPage{ID: id}
}

const orderQuery = `query ConsoleOrder($id: ID!, $minVersion: Int) {
  order(id: $id, minVersion: $minVersion) {
    id customerId status currentStep completedSteps pendingSteps
    items { productId quantity unitPrice }
    totalAmount currency failure { code message step } createdAt updatedAt version
  }
  orderEvents(orderId: $id, allContexts: true) { type version occurredAt data correlationId causationId context streamId }
}`

type orderView struct {
	ID             string   `json:"id"`
	CustomerID     string   `json:"customerId"`
	Status         string   `json:"status"`
	CurrentStep    string   `json:"currentStep"`
	CompletedSteps []string `json:"completedSteps"`
	PendingSteps   []string `json:"pendingSteps"`
	Items          []struct {
		ProductID string `json:"productId"`
		Quantity  int    `json:"quantity"`
		UnitPrice string `json:"unitPrice"`
	} `json:"items"`
	TotalAmount string `json:"totalAmount"`
	Currency    string `json:"currency"`
	Failure     *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Step    string `json:"step"`
	} `json:"failure"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	Version   int       `json:"version"`
}

type orderEvent struct {
	Type          string    `json:"type"`
	Version       int       `json:"version"`
	OccurredAt    time.Time `json:"occurredAt"`
	Data          string    `json:"data"`
	CorrelationID *string   `json:"correlationId"`
	CausationID   *string   `json:"causationId"`
	Context       string    `json:"context"`
	StreamID      string    `json:"streamId"`
}

// Short is the event's type without its context prefix.
func (e orderEvent) Short() string {
	_, t, ok := strings.Cut(e.Type, ".")
	if !ok {
		return e.Type
	}
	return t
}

// PrettyData is the event's JSON indented for reading.
func (e orderEvent) PrettyData() string {
	var v any
	if err := json.Unmarshal([]byte(e.Data), &v); err != nil {
		return e.Data
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return e.Data
	}
	return string(b)
}

// timelineStep is one step of the saga as the order page shows it.
type timelineStep struct {
	Step string
	// State is done, current (the saga works on it), pending or skipped
	// (the order ended before it).
	State string
	At    time.Time
}

// compensation is a step the saga undid.
type compensation struct {
	Step   string
	Action string
	Reason string
	At     time.Time
}

// itemLine is an order line with what the placement recorded of its
// product (name and sku are in the OrderPlaced event).
type itemLine struct {
	ProductID string
	Name      string
	SKU       string
	Quantity  int
	UnitPrice string
}

// orderDetail is the data of the order fragment.
type orderDetail struct {
	Error         *APIError
	Order         orderView
	Customer      *customer
	Timeline      []timelineStep
	Compensations []compensation
	Cancellation  *struct {
		Reason string
		By     string
		At     time.Time
	}
	Items     []itemLine
	Events    []orderEvent
	CanCancel bool
	// DeadLetters are the dead-letter store's entries of the order (nil
	// when the token may not read them).
	DeadLetters *orderDeadLetters
}

// orderDeadLetters counts an order's entries in the dead-letter store.
type orderDeadLetters struct {
	Dead, Parked, Total int
	// URL is the dead-letters page listing them.
	URL string
}

// Open is how many may still be replayed or discarded.
func (d orderDeadLetters) Open() int { return d.Dead + d.Parked }

// orderDeadLettersQuery counts an aggregate's entries: dead, parked and
// all of them.
const orderDeadLettersQuery = `query ConsoleAggregateDeadLetters($id: ID!) {
  dead: deadLetters(filter: {aggregateId: $id, status: DEAD}, first: 1) { total }
  parked: deadLetters(filter: {aggregateId: $id, status: PARKED}, first: 1) { total }
  all: deadLetters(filter: {aggregateId: $id}, first: 1) { total }
}`

func (c *Console) orderFragment(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	minVersion, _ := strconv.Atoi(r.URL.Query().Get("minVersion"))
	var d orderDetail
	if err := c.loadOrder(r, id, minVersion, &d); err != nil {
		d.Error = c.asAPIError(err)
	}
	c.fragment(w, "order-detail", d)
}

func (c *Console) loadOrder(r *http.Request, id string, minVersion int, d *orderDetail) error {
	var data struct {
		Order       *orderView   `json:"order"`
		OrderEvents []orderEvent `json:"orderEvents"`
	}
	vars := map[string]any{"id": id}
	if minVersion > 0 {
		vars["minVersion"] = minVersion
	}
	if err := c.query(r, orderQuery, vars, &data); err != nil {
		return err
	}
	if data.Order == nil {
		return &APIError{Code: "NOT_FOUND", Message: "order " + id + " not found"}
	}
	d.Order, d.Events = *data.Order, data.OrderEvents
	d.CanCancel = d.Order.Status == "PENDING" || d.Order.Status == "PROCESSING"
	d.build()

	var cu struct {
		Customer *customer `json:"customer"`
	}
	// The customer is context: an order is still worth showing without.
	if err := c.query(r, `query ConsoleCustomer($id: ID!) { customer(id: $id) { id email name balance held } }`,
		map[string]any{"id": d.Order.CustomerID}, &cu); err == nil {
		d.Customer = cu.Customer
	}
	// So are its dead letters (messages keyed by the order: its events
	// as the saga and the projection consume them).
	var dl struct {
		Dead, Parked, All struct {
			Total int `json:"total"`
		}
	}
	if err := c.query(r, orderDeadLettersQuery, map[string]any{"id": id}, &dl); err == nil {
		d.DeadLetters = &orderDeadLetters{Dead: dl.Dead.Total, Parked: dl.Parked.Total, Total: dl.All.Total,
			URL: deadLetterFilter{Aggregate: id}.PageURL()}
	}
	return nil
}

// build derives the timeline, compensations and items from the order's
// events: the read model has the steps, the event store has when.
func (d *orderDetail) build() {
	at := map[string]time.Time{}
	placed := struct {
		Items []struct {
			ProductID   string `json:"productId"`
			ProductName string `json:"productName"`
			SKU         string `json:"sku"`
		} `json:"items"`
	}{}
	for _, e := range d.Events {
		var body struct {
			Step   string    `json:"step"`
			Action string    `json:"action"`
			Reason string    `json:"reason"`
			By     string    `json:"by"`
			At     time.Time `json:"at"`
		}
		_ = json.Unmarshal([]byte(e.Data), &body)
		when := body.At
		if when.IsZero() {
			when = e.OccurredAt
		}
		if e.Context != "ordering" {
			continue
		}
		switch e.Short() {
		case "OrderPlaced":
			at["ORDER_CREATED"] = e.OccurredAt
			_ = json.Unmarshal([]byte(e.Data), &placed)
		case "OrderStepCompleted":
			at[body.Step] = when
		case "OrderConfirmed":
			at["ORDER_CONFIRMED"] = when
		case "OrderCompensated":
			d.Compensations = append(d.Compensations, compensation{Step: body.Step, Action: body.Action, Reason: body.Reason, At: when})
		case "OrderCancellationRequested":
			d.Cancellation = &struct {
				Reason string
				By     string
				At     time.Time
			}{body.Reason, body.By, when}
		}
	}
	o := d.Order
	final := o.Status == "CONFIRMED" || o.Status == "CANCELLED" || o.Status == "FAILED"
	current := ""
	if !final && len(o.PendingSteps) > 0 {
		current = o.PendingSteps[0]
	}
	for _, s := range sagaSteps {
		st := timelineStep{Step: s, At: at[s]}
		switch {
		case slices.Contains(o.CompletedSteps, s):
			st.State = "done"
		case s == current:
			st.State = "current"
		case final:
			st.State = "skipped"
		default:
			st.State = "pending"
		}
		d.Timeline = append(d.Timeline, st)
	}
	for _, it := range o.Items {
		line := itemLine{ProductID: it.ProductID, Quantity: it.Quantity, UnitPrice: it.UnitPrice}
		for _, p := range placed.Items {
			if p.ProductID == it.ProductID {
				line.Name, line.SKU = p.ProductName, p.SKU
			}
		}
		d.Items = append(d.Items, line)
	}
}

// actionResult is the answer to an action: done, or refused with a code.
type actionResult struct {
	Error   *APIError
	Message string
}

const cancelOrderMutation = `mutation ConsoleCancel($id: ID!, $reason: String) {
  cancelOrder(orderId: $id, reason: $reason) { id status version }
}`

// cancelOrder asks the API to cancel the order. The saga then compensates
// and ends it CANCELLED; the page sees that through its subscription.
func (c *Console) cancelOrder(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	vars := map[string]any{"id": id}
	if reason := r.FormValue("reason"); reason != "" {
		vars["reason"] = reason
	}
	var res actionResult
	var data struct {
		CancelOrder struct {
			Status  string `json:"status"`
			Version int    `json:"version"`
		} `json:"cancelOrder"`
	}
	if err := c.query(r, cancelOrderMutation, vars, &data); err != nil {
		res.Error = c.asAPIError(err)
	} else {
		res.Message = "Cancellation requested: the saga undoes what was done and ends the order CANCELLED."
		w.Header().Set("HX-Trigger", `{"order-changed": {"version": `+strconv.Itoa(data.CancelOrder.Version)+`}}`)
	}
	c.fragment(w, "action-result", res)
}
