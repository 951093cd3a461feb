package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The dead letters' statuses, error classes and handlers the API knows, in
// the order the console lists them.
var (
	deadLetterStatuses = []string{"DEAD", "PARKED", "REPLAYED", "DISCARDED"}
	deadLetterClasses  = []string{"TRANSIENT", "PERMANENT", "WAITING"}
	deadLetterHandlers = []string{
		"inventory.commands", "payments.commands",
		"sagas.order.ordering", "sagas.order.inventory", "sagas.order.payments",
		"projections.orders", "projections.products", "projections.customers",
	}
)

// deadLetterPageSize is how many entries a page of the list shows.
const deadLetterPageSize = 20

// deadLetterFilter is a dead-letter search as the URL of
// /console/dead-letters states it, so a link to the page is the search:
// handler, aggregate (the aggregate id), status, class (the error class),
// type, from and to (dates of the first failure, to inclusive) and after
// (the cursor of the page).
type deadLetterFilter struct {
	Handler   string
	Aggregate string
	Status    string
	Class     string
	Type      string
	From      string
	To        string
	After     string
}

func parseDeadLetterFilter(q url.Values) deadLetterFilter {
	trim := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	return deadLetterFilter{
		Handler:   trim("handler"),
		Aggregate: trim("aggregate"),
		Status:    strings.ToUpper(trim("status")),
		Class:     strings.ToUpper(trim("class")),
		Type:      trim("type"),
		From:      trim("from"),
		To:        trim("to"),
		After:     trim("after"),
	}
}

// values is the filter as URL parameters (empty ones left out).
func (f deadLetterFilter) values() url.Values {
	q := url.Values{}
	for _, kv := range [][2]string{
		{"handler", f.Handler}, {"aggregate", f.Aggregate}, {"status", f.Status}, {"class", f.Class},
		{"type", f.Type}, {"from", f.From}, {"to", f.To}, {"after", f.After},
	} {
		if kv[1] != "" {
			q.Set(kv[0], kv[1])
		}
	}
	return q
}

// PageURL is the dead-letters page showing this search.
func (f deadLetterFilter) PageURL() string {
	if q := f.values().Encode(); q != "" {
		return Prefix + "/dead-letters?" + q
	}
	return Prefix + "/dead-letters"
}

// FragmentURL is the list fragment of this search.
func (f deadLetterFilter) FragmentURL() string {
	return Prefix + "/fragments/dead-letters?" + f.values().Encode()
}

// Active says whether anything narrows the search.
func (f deadLetterFilter) Active() bool {
	return f.Handler != "" || f.Aggregate != "" || f.Status != "" || f.Class != "" || f.Type != "" || f.From != "" || f.To != ""
}

// with is the search narrowed to a handler and an error class, from the
// first page: the links of the counts.
func (f deadLetterFilter) with(handler, class string) deadLetterFilter {
	f.Handler, f.Class, f.After = handler, class, ""
	return f
}

// graphQL is the filter as deadLetters' arguments. Dates are whole days in
// UTC: from its first instant, to the end of the to day. Values the API
// would not know are refused here with the code the API uses for bad
// input, naming the field.
func (f deadLetterFilter) graphQL() (map[string]any, error) {
	filter := map[string]any{}
	invalid := func(field, format string, args ...any) error {
		return &APIError{Code: "INVALID_ORDER_DATA", Message: field + ": " + fmt.Sprintf(format, args...)}
	}
	if f.Handler != "" {
		filter["handler"] = f.Handler
	}
	if f.Aggregate != "" {
		filter["aggregateId"] = f.Aggregate
	}
	if f.Type != "" {
		filter["type"] = f.Type
	}
	if f.Status != "" {
		if !slices.Contains(deadLetterStatuses, f.Status) {
			return nil, invalid("status", "%q is none of %s", f.Status, strings.Join(deadLetterStatuses, ", "))
		}
		filter["status"] = f.Status
	}
	if f.Class != "" {
		if !slices.Contains(deadLetterClasses, f.Class) {
			return nil, invalid("class", "%q is none of %s", f.Class, strings.Join(deadLetterClasses, ", "))
		}
		filter["errorClass"] = f.Class
	}
	if f.From != "" {
		d, err := time.Parse(time.DateOnly, f.From)
		if err != nil {
			return nil, invalid("from", "%q is not a date (YYYY-MM-DD)", f.From)
		}
		filter["from"] = d.Format(time.RFC3339)
	}
	if f.To != "" {
		d, err := time.Parse(time.DateOnly, f.To)
		if err != nil {
			return nil, invalid("to", "%q is not a date (YYYY-MM-DD)", f.To)
		}
		filter["to"] = d.AddDate(0, 0, 1).Format(time.RFC3339)
	}
	vars := map[string]any{"filter": filter, "first": deadLetterPageSize}
	if f.After != "" {
		vars["after"] = f.After
	}
	return vars, nil
}

// deadLettersPage is the data of the dead-letters page's shell: the
// search form.
type deadLettersPage struct {
	Filter   deadLetterFilter
	Statuses []string
	Classes  []string
	Handlers []string
}

func deadLettersPageData(r *http.Request) (string, any) {
	f := parseDeadLetterFilter(r.URL.Query())
	title := "Dead letters"
	if f.Aggregate != "" {
		title = "Dead letters of " + f.Aggregate
	}
	return title, deadLettersPage{Filter: f, Statuses: deadLetterStatuses, Classes: deadLetterClasses, Handlers: deadLetterHandlers}
}

const deadLettersQuery = `query ConsoleDeadLetters($filter: DeadLetterFilter, $first: Int, $after: String) {
  deadLetters(filter: $filter, first: $first, after: $after) {
    total endCursor hasNextPage
    counts { handler errorClass count }
    deadLetters { id handler aggregateId type errorClass error attempts firstFailedAt lastFailedAt status }
  }
}`

// deadLetterRow is one entry of the list.
type deadLetterRow struct {
	ID            string    `json:"id"`
	Handler       string    `json:"handler"`
	AggregateID   string    `json:"aggregateId"`
	Type          string    `json:"type"`
	ErrorClass    string    `json:"errorClass"`
	Error         string    `json:"error"`
	Attempts      int       `json:"attempts"`
	FirstFailedAt time.Time `json:"firstFailedAt"`
	LastFailedAt  time.Time `json:"lastFailedAt"`
	Status        string    `json:"status"`
}

// Open says whether an operator may still replay or discard the entry.
func (d deadLetterRow) Open() bool { return d.Status == "DEAD" || d.Status == "PARKED" }

// ShortError is the error's first line, cut to 120 characters.
func (d deadLetterRow) ShortError() string {
	e, _, _ := strings.Cut(d.Error, "\n")
	if r := []rune(e); len(r) > 120 {
		return string(r[:119]) + "…"
	}
	return e
}

// countCell is one handler's count of one error class, and the search
// narrowed to them.
type countCell struct {
	Class string
	Count int
	URL   string
}

// countRow is one handler's counts, one cell per error class.
type countRow struct {
	Handler string
	Cells   []countCell
	Total   int
}

// deadLettersResults is the data of the list fragment.
type deadLettersResults struct {
	Error    *APIError
	Filter   deadLetterFilter
	Total    int
	Classes  []string
	Counts   []countRow
	Entries  []deadLetterRow
	NextURL  string
	FirstURL string
	// OpenOfAggregate counts the open (dead or parked) entries of the
	// aggregate when the search is for one: they can be replayed together.
	OpenOfAggregate int
}

func (c *Console) deadLettersFragment(w http.ResponseWriter, r *http.Request) {
	f := parseDeadLetterFilter(r.URL.Query())
	res := deadLettersResults{Filter: f, Classes: deadLetterClasses}
	if err := c.listDeadLetters(r, f, &res); err != nil {
		res.Error = c.asAPIError(err)
	}
	c.fragment(w, "dead-letters-results", res)
}

func (c *Console) listDeadLetters(r *http.Request, f deadLetterFilter, res *deadLettersResults) error {
	vars, err := f.graphQL()
	if err != nil {
		return err
	}
	var data struct {
		DeadLetters struct {
			Total       int     `json:"total"`
			EndCursor   *string `json:"endCursor"`
			HasNextPage bool    `json:"hasNextPage"`
			Counts      []struct {
				Handler    string `json:"handler"`
				ErrorClass string `json:"errorClass"`
				Count      int    `json:"count"`
			} `json:"counts"`
			DeadLetters []deadLetterRow `json:"deadLetters"`
		} `json:"deadLetters"`
	}
	if err := c.query(r, deadLettersQuery, vars, &data); err != nil {
		return err
	}
	p := data.DeadLetters
	res.Total, res.Entries = p.Total, p.DeadLetters
	byHandler := map[string]map[string]int{}
	var handlers []string
	for _, n := range p.Counts {
		if byHandler[n.Handler] == nil {
			byHandler[n.Handler] = map[string]int{}
			handlers = append(handlers, n.Handler)
		}
		byHandler[n.Handler][n.ErrorClass] += n.Count
	}
	slices.Sort(handlers)
	for _, h := range handlers {
		row := countRow{Handler: h}
		for _, class := range deadLetterClasses {
			n := byHandler[h][class]
			row.Cells = append(row.Cells, countCell{Class: class, Count: n, URL: f.with(h, class).PageURL()})
			row.Total += n
		}
		res.Counts = append(res.Counts, row)
	}
	if p.HasNextPage && p.EndCursor != nil {
		next := f
		next.After = *p.EndCursor
		res.NextURL = next.PageURL()
	}
	if f.After != "" {
		first := f
		first.After = ""
		res.FirstURL = first.PageURL()
	}
	if f.Aggregate != "" {
		var open struct {
			Dead, Parked struct {
				Total int `json:"total"`
			}
		}
		if err := c.query(r, orderDeadLettersQuery, map[string]any{"id": f.Aggregate}, &open); err != nil {
			return err
		}
		res.OpenOfAggregate = open.Dead.Total + open.Parked.Total
	}
	return nil
}
