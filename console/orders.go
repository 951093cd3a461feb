package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The statuses, steps and sorts the API knows, in the order the console
// lists them.
var (
	orderStatuses = []string{"PENDING", "PROCESSING", "CONFIRMED", "CANCELLED", "FAILED"}
	sagaSteps     = []string{"ORDER_CREATED", "INVENTORY_RESERVED", "PAYMENT_AUTHORIZED", "ORDER_CONFIRMED"}
	orderSorts    = []sortOption{
		{"CREATED_DESC", "Newest first"}, {"CREATED_ASC", "Oldest first"},
		{"TOTAL_DESC", "Largest total"}, {"TOTAL_ASC", "Smallest total"},
	}
)

type sortOption struct{ Value, Label string }

// orderFilter is an order search as the URL of /console/orders states it,
// so a link to the page is the search: text, status and step (repeated),
// from and to (dates, to inclusive), min and max (totals), sort and after
// (the cursor of the page).
type orderFilter struct {
	Text     string
	Statuses []string
	Steps    []string
	From     string
	To       string
	MinTotal string
	MaxTotal string
	Sort     string
	After    string
}

func parseOrderFilter(q url.Values) orderFilter {
	trim := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	return orderFilter{
		Text:     trim("text"),
		Statuses: nonEmpty(q["status"]),
		Steps:    nonEmpty(q["step"]),
		From:     trim("from"),
		To:       trim("to"),
		MinTotal: trim("min"),
		MaxTotal: trim("max"),
		Sort:     trim("sort"),
		After:    trim("after"),
	}
}

func nonEmpty(vs []string) []string {
	var out []string
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// values is the filter as URL parameters (empty ones left out).
func (f orderFilter) values() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("text", f.Text)
	for _, s := range f.Statuses {
		q.Add("status", s)
	}
	for _, s := range f.Steps {
		q.Add("step", s)
	}
	set("from", f.From)
	set("to", f.To)
	set("min", f.MinTotal)
	set("max", f.MaxTotal)
	set("sort", f.Sort)
	set("after", f.After)
	return q
}

// PageURL is the orders page showing this search.
func (f orderFilter) PageURL() string {
	if q := f.values().Encode(); q != "" {
		return Prefix + "/orders?" + q
	}
	return Prefix + "/orders"
}

// FragmentURL is the results fragment of this search.
func (f orderFilter) FragmentURL() string {
	return Prefix + "/fragments/orders?" + f.values().Encode()
}

// toggled is list with value added, or removed when it is there.
func toggled(list []string, value string) []string {
	out := slices.Clone(list)
	if i := slices.Index(out, value); i >= 0 {
		return slices.Delete(out, i, i+1)
	}
	return append(out, value)
}

// toggleStatus is the search with the status added or removed, from the
// first page.
func (f orderFilter) toggleStatus(s string) orderFilter {
	f.Statuses, f.After = toggled(f.Statuses, s), ""
	return f
}

// toggleStep is toggleStatus for the current step.
func (f orderFilter) toggleStep(s string) orderFilter {
	f.Steps, f.After = toggled(f.Steps, s), ""
	return f
}

// Active says whether anything narrows the search.
func (f orderFilter) Active() bool {
	return f.Text != "" || len(f.Statuses) > 0 || len(f.Steps) > 0 || f.From != "" || f.To != "" || f.MinTotal != "" || f.MaxTotal != ""
}

// HasStatus and HasStep check the boxes of the search form.
func (f orderFilter) HasStatus(s string) bool { return slices.Contains(f.Statuses, s) }

// HasStep is HasStatus for steps.
func (f orderFilter) HasStep(s string) bool { return slices.Contains(f.Steps, s) }

// graphQL is the filter as searchOrders' arguments. Dates are whole days
// in UTC: from its first instant, to the end of the to day.
func (f orderFilter) graphQL() (map[string]any, error) {
	filter := map[string]any{}
	if f.Text != "" {
		filter["text"] = f.Text
	}
	if len(f.Statuses) > 0 {
		filter["status"] = f.Statuses
	}
	if len(f.Steps) > 0 {
		filter["currentStep"] = f.Steps
	}
	if f.From != "" {
		d, err := time.Parse(time.DateOnly, f.From)
		if err != nil {
			return nil, &APIError{Code: "INVALID_ORDER_DATA", Message: fmt.Sprintf("from: %q is not a date (YYYY-MM-DD)", f.From)}
		}
		filter["createdFrom"] = d.Format(time.RFC3339)
	}
	if f.To != "" {
		d, err := time.Parse(time.DateOnly, f.To)
		if err != nil {
			return nil, &APIError{Code: "INVALID_ORDER_DATA", Message: fmt.Sprintf("to: %q is not a date (YYYY-MM-DD)", f.To)}
		}
		filter["createdTo"] = d.AddDate(0, 0, 1).Format(time.RFC3339)
	}
	if f.MinTotal != "" {
		filter["minTotal"] = f.MinTotal
	}
	if f.MaxTotal != "" {
		filter["maxTotal"] = f.MaxTotal
	}
	vars := map[string]any{"filter": filter, "first": orderPageSize}
	if f.Sort != "" {
		vars["sort"] = f.Sort
	}
	if f.After != "" {
		vars["after"] = f.After
	}
	return vars, nil
}

// orderPageSize is how many orders a page lists.
const orderPageSize = 20

// ordersPage is the data of the orders page's shell: the search form.
type ordersPage struct {
	Filter   orderFilter
	Statuses []string
	Steps    []string
	Sorts    []sortOption
}

func ordersPageData(r *http.Request) (string, any) {
	f := parseOrderFilter(r.URL.Query())
	title := "Orders"
	if f.Text != "" {
		title = "Orders matching " + f.Text
	}
	return title, ordersPage{Filter: f, Statuses: orderStatuses, Steps: sagaSteps, Sorts: orderSorts}
}

const searchOrdersQuery = `query ConsoleSearch($filter: OrderSearchFilter, $first: Int, $after: String, $sort: OrderSort) {
  searchOrders(filter: $filter, first: $first, after: $after, sort: $sort) {
    total endCursor hasNextPage
    orders { id customerId status currentStep totalAmount currency createdAt updatedAt failure { code } }
    statusFacets { value count }
    stepFacets { value count }
  }
}`

type facetCount struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

type orderRow struct {
	ID          string    `json:"id"`
	CustomerID  string    `json:"customerId"`
	Status      string    `json:"status"`
	CurrentStep string    `json:"currentStep"`
	TotalAmount string    `json:"totalAmount"`
	Currency    string    `json:"currency"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	Failure     *struct {
		Code string `json:"code"`
	} `json:"failure"`
	// Customer is filled in from a second request.
	Customer *customer `json:"-"`
}

type customer struct {
	ID      string `json:"id"`
	Email   string `json:"email"`
	Name    string `json:"name"`
	Balance string `json:"balance"`
	Held    string `json:"held"`
}

// facetLink is one value of a facet: its count and the search with the
// value toggled.
type facetLink struct {
	Value    string
	Count    int
	Selected bool
	URL      string
}

// ordersResults is the data of the results fragment.
type ordersResults struct {
	Error       *APIError
	Filter      orderFilter
	Total       int
	Orders      []orderRow
	StatusFacet []facetLink
	StepFacet   []facetLink
	NextURL     string
	FirstURL    string
}

func (c *Console) ordersFragment(w http.ResponseWriter, r *http.Request) {
	f := parseOrderFilter(r.URL.Query())
	res := ordersResults{Filter: f}
	if err := c.searchOrders(r, f, &res); err != nil {
		res.Error = c.asAPIError(err)
	}
	c.fragment(w, "orders-results", res)
}

func (c *Console) searchOrders(r *http.Request, f orderFilter, res *ordersResults) error {
	vars, err := f.graphQL()
	if err != nil {
		return err
	}
	var data struct {
		SearchOrders struct {
			Total        int          `json:"total"`
			EndCursor    *string      `json:"endCursor"`
			HasNextPage  bool         `json:"hasNextPage"`
			Orders       []orderRow   `json:"orders"`
			StatusFacets []facetCount `json:"statusFacets"`
			StepFacets   []facetCount `json:"stepFacets"`
		} `json:"searchOrders"`
	}
	if err := c.query(r, searchOrdersQuery, vars, &data); err != nil {
		return err
	}
	s := data.SearchOrders
	res.Total, res.Orders = s.Total, s.Orders
	res.StatusFacet = facetLinks(orderStatuses, s.StatusFacets, f.Statuses, f.toggleStatus)
	res.StepFacet = facetLinks(sagaSteps, s.StepFacets, f.Steps, f.toggleStep)
	if s.HasNextPage && s.EndCursor != nil {
		next := f
		next.After = *s.EndCursor
		res.NextURL = next.PageURL()
	}
	if f.After != "" {
		first := f
		first.After = ""
		res.FirstURL = first.PageURL()
	}
	return c.addCustomers(r, res.Orders)
}

// facetLinks lists every known value (a count of 0 when the API has none)
// and any other value the API reports.
func facetLinks(known []string, counts []facetCount, selected []string, toggle func(string) orderFilter) []facetLink {
	byValue := map[string]int{}
	values := slices.Clone(known)
	for _, fc := range counts {
		byValue[fc.Value] = fc.Count
		if !slices.Contains(values, fc.Value) {
			values = append(values, fc.Value)
		}
	}
	out := make([]facetLink, 0, len(values))
	for _, v := range values {
		out = append(out, facetLink{Value: v, Count: byValue[v], Selected: slices.Contains(selected, v), URL: toggle(v).PageURL()})
	}
	return out
}

// addCustomers names each row's customer, in one request for the page.
// A customer the API does not return (deleted from the read model, say)
// leaves the row with its id only.
func (c *Console) addCustomers(r *http.Request, rows []orderRow) error {
	var ids []string
	for _, o := range rows {
		if !slices.Contains(ids, o.CustomerID) {
			ids = append(ids, o.CustomerID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var q strings.Builder
	vars := map[string]any{}
	q.WriteString("query ConsoleCustomers(")
	for i := range ids {
		if i > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "$c%d: ID!", i)
	}
	q.WriteString(") {")
	for i, id := range ids {
		fmt.Fprintf(&q, " c%d: customer(id: $c%d) { id email name }", i, i)
		vars[fmt.Sprintf("c%d", i)] = id
	}
	q.WriteString(" }")
	resp, err := c.do(r, q.String(), vars)
	if err != nil {
		return err
	}
	data := map[string]*customer{}
	if err := decodeData(resp, &data); err != nil {
		return err
	}
	byID := map[string]*customer{}
	for _, cu := range data {
		if cu != nil {
			byID[cu.ID] = cu
		}
	}
	for i := range rows {
		rows[i].Customer = byID[rows[i].CustomerID]
	}
	return nil
}
