package query

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/projections/documents"
)

// OrdersIndex reads orders from the Elasticsearch read model: by id (in
// realtime) and through the admin search.
type OrdersIndex struct {
	es    *elasticsearch.Client
	alias string
	// MaxWait bounds WaitForOrderVersion when the context has no earlier
	// deadline.
	MaxWait time.Duration
}

// NewOrdersIndex reads through alias (config.Config.Index("orders")).
func NewOrdersIndex(es *elasticsearch.Client, alias string) *OrdersIndex {
	return &OrdersIndex{es: es, alias: alias, MaxWait: 5 * time.Second}
}

// Order returns the order with its timeline, or NOT_FOUND.
func (ix *OrdersIndex) Order(ctx context.Context, id string) (Order, error) {
	var d documents.Order
	if err := getDocument(ctx, ix.es, ix.alias, "order", id, &d); err != nil {
		return Order{}, err
	}
	return orderFromDocument(d), nil
}

// ErrReadModelBehind is returned by WaitForOrderVersion when the read
// model did not reach the version in time.
var ErrReadModelBehind = errors.New("read model is behind")

// WaitForOrderVersion returns the order once its read model reflects at
// least minVersion (the version a command returned), so a client reads its
// own write. It polls the realtime GET with a growing interval and gives
// up after MaxWait (or when ctx ends) with ErrReadModelBehind and the
// newest order it saw, if any.
func (ix *OrdersIndex) WaitForOrderVersion(ctx context.Context, id string, minVersion int) (Order, error) {
	// The deadline bounds the waiting, not the reads: every call reads at
	// least once, however slow the cluster is.
	deadline := time.Now().Add(ix.MaxWait)
	interval := 10 * time.Millisecond
	var last Order
	for {
		o, err := ix.Order(ctx, id)
		switch {
		case err == nil:
			last = o
			if o.Version >= minVersion {
				return o, nil
			}
		case !errcode.Is(err, errcode.NotFound):
			return last, err
		}
		wait := min(interval, time.Until(deadline))
		if wait <= 0 {
			return last, fmt.Errorf("order %s: want version %d, read model has %d: %w", id, minVersion, last.Version, ErrReadModelBehind)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return last, fmt.Errorf("order %s: want version %d, read model has %d: %w", id, minVersion, last.Version, ErrReadModelBehind)
		case <-t.C:
		}
		interval = min(interval*2, 200*time.Millisecond)
	}
}

// Search runs an admin order search; see OrderSearch for the semantics.
// Invalid input (unknown sort, bad cursor, page size) is
// INVALID_ORDER_DATA.
func (ix *OrdersIndex) Search(ctx context.Context, s OrderSearch) (OrderSearchResult, error) {
	body, size, err := buildOrderSearch(s)
	if err != nil {
		return OrderSearchResult{}, err
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return OrderSearchResult{}, err
	}
	res, err := esapi.SearchRequest{Index: []string{ix.alias}, Body: bytes.NewReader(payload)}.Do(ctx, ix.es)
	if err != nil {
		return OrderSearchResult{}, fmt.Errorf("search orders: %w", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return OrderSearchResult{}, fmt.Errorf("search orders: %w", err)
	}
	if res.IsError() {
		return OrderSearchResult{}, fmt.Errorf("search orders: elasticsearch %s: %s", res.Status(), truncate(raw))
	}
	var answer struct {
		Hits struct {
			Total struct {
				Value int `json:"value"`
			} `json:"total"`
			Hits []struct {
				Source json.RawMessage   `json:"_source"`
				Sort   []json.RawMessage `json:"sort"`
			} `json:"hits"`
		} `json:"hits"`
		Aggregations struct {
			Status facetAgg `json:"status"`
			Step   facetAgg `json:"step"`
		} `json:"aggregations"`
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		return OrderSearchResult{}, fmt.Errorf("decode order search: %w", err)
	}
	out := OrderSearchResult{
		Total:        answer.Hits.Total.Value,
		Orders:       []Order{},
		StatusFacets: answer.Aggregations.Status.counts(),
		StepFacets:   answer.Aggregations.Step.counts(),
	}
	hits := answer.Hits.Hits
	if len(hits) > size {
		out.HasNextPage = true
		hits = hits[:size]
	}
	for _, h := range hits {
		var d documents.Order
		if err := json.Unmarshal(h.Source, &d); err != nil {
			return OrderSearchResult{}, fmt.Errorf("decode order search hit: %w", err)
		}
		o := orderFromDocument(d)
		o.Timeline = nil
		out.Orders = append(out.Orders, o)
	}
	if out.HasNextPage {
		out.EndCursor = orderCursor{Sort: sortOrDefault(s.Sort), Values: hits[len(hits)-1].Sort}.encode()
	}
	return out, nil
}

type facetAgg struct {
	Values struct {
		Buckets []struct {
			Key      string `json:"key"`
			DocCount int    `json:"doc_count"`
		} `json:"buckets"`
	} `json:"values"`
}

func (a facetAgg) counts() []FacetCount {
	out := make([]FacetCount, 0, len(a.Values.Buckets))
	for _, b := range a.Values.Buckets {
		out = append(out, FacetCount{Value: b.Key, Count: b.DocCount})
	}
	return out
}

func sortOrDefault(s OrderSort) OrderSort {
	if s == "" {
		return SortCreatedDesc
	}
	return s
}

// sortFields are the sort clauses of each sort, ending with the unique id.
func sortFields(s OrderSort) []any {
	clause := func(field, order string) map[string]any { return map[string]any{field: map[string]any{"order": order}} }
	id := clause("id", "asc")
	switch s {
	case SortCreatedAsc:
		return []any{clause("createdAt", "asc"), id}
	case SortTotalDesc:
		return []any{clause("total", "desc"), clause("createdAt", "desc"), id}
	case SortTotalAsc:
		return []any{clause("total", "asc"), clause("createdAt", "desc"), id}
	default:
		return []any{clause("createdAt", "desc"), id}
	}
}

type object = map[string]any

// buildOrderSearch returns the search body and the page size. The status
// and step filters go into post_filter so each facet can ignore its own.
func buildOrderSearch(s OrderSearch) (object, int, error) {
	if !s.Sort.Valid() {
		return nil, 0, errcode.New(errcode.InvalidOrderData, "unknown sort %q", s.Sort).With("field", "sort")
	}
	size := s.First
	switch {
	case size == 0:
		size = DefaultOrderPageSize
	case size < 0 || size > MaxOrderPageSize:
		return nil, 0, errcode.New(errcode.InvalidOrderData, "page size must be between 1 and %d", MaxOrderPageSize).With("field", "first")
	}
	if s.MinTotal != nil && s.MaxTotal != nil && *s.MinTotal > *s.MaxTotal {
		return nil, 0, errcode.New(errcode.InvalidOrderData, "minimum total exceeds maximum total").With("field", "minTotal")
	}
	sort := sortOrDefault(s.Sort)

	var must, filter []any
	if text := strings.TrimSpace(s.Text); text != "" {
		must = append(must, textQuery(text))
	}
	if s.CustomerID != "" {
		filter = append(filter, object{"term": object{"customerId": s.CustomerID}})
	}
	if s.ProductID != "" {
		filter = append(filter, object{"nested": object{"path": "items", "query": object{"term": object{"items.productId": s.ProductID}}}})
	}
	if !s.CreatedFrom.IsZero() || !s.CreatedTo.IsZero() {
		r := object{}
		if !s.CreatedFrom.IsZero() {
			r["gte"] = s.CreatedFrom.UTC().Format(time.RFC3339Nano)
		}
		if !s.CreatedTo.IsZero() {
			r["lt"] = s.CreatedTo.UTC().Format(time.RFC3339Nano)
		}
		filter = append(filter, object{"range": object{"createdAt": r}})
	}
	if s.MinTotal != nil || s.MaxTotal != nil {
		r := object{}
		if s.MinTotal != nil {
			r["gte"] = int64(*s.MinTotal)
		}
		if s.MaxTotal != nil {
			r["lte"] = int64(*s.MaxTotal)
		}
		filter = append(filter, object{"range": object{"total": r}})
	}
	if s.FailureCode != "" {
		filter = append(filter, object{"term": object{"failure.code": string(s.FailureCode)}})
	}

	statusFilter := termsOrAll("status", s.Statuses)
	stepFilter := termsOrAll("currentStep", s.CurrentSteps)
	body := object{
		"size":             size + 1, // one more tells whether a next page exists
		"track_total_hits": true,
		"query":            object{"bool": object{"must": orAll(must), "filter": orEmpty(filter)}},
		"post_filter":      object{"bool": object{"filter": []any{statusFilter, stepFilter}}},
		"sort":             sortFields(sort),
		"_source":          object{"excludes": []string{"timeline"}},
		"aggs": object{
			"status": object{"filter": stepFilter, "aggs": object{"values": object{"terms": object{"field": "status", "size": 20}}}},
			"step":   object{"filter": statusFilter, "aggs": object{"values": object{"terms": object{"field": "currentStep", "size": 20}}}},
		},
	}
	if s.After != "" {
		c, err := decodeOrderCursor(s.After, sort, len(sortFields(sort)))
		if err != nil {
			return nil, 0, err
		}
		body["search_after"] = c.Values
	}
	return body, size, nil
}

// textQuery matches any of the fields an operator might paste or type.
func textQuery(text string) object {
	return object{"bool": object{"minimum_should_match": 1, "should": []any{
		object{"term": object{"id": object{"value": text, "boost": 10}}},
		object{"prefix": object{"id": object{"value": text, "boost": 5}}},
		object{"term": object{"customerId": text}},
		object{"term": object{"customerEmail": text}},
		object{"match": object{"customerEmail.text": object{"query": text, "operator": "and"}}},
		object{"match": object{"customerName": object{"query": text, "operator": "and"}}},
		object{"nested": object{"path": "items", "score_mode": "max", "query": object{"bool": object{"should": []any{
			object{"term": object{"items.productId": text}},
			object{"term": object{"items.sku": text}},
			object{"match": object{"items.productName": object{"query": text, "operator": "and"}}},
		}}}}},
	}}}
}

func termsOrAll[T ~string](field string, values []T) object {
	if len(values) == 0 {
		return object{"match_all": object{}}
	}
	vs := make([]string, len(values))
	for i, v := range values {
		vs[i] = string(v)
	}
	return object{"terms": object{field: vs}}
}

func orAll(qs []any) []any {
	if len(qs) == 0 {
		return []any{object{"match_all": object{}}}
	}
	return qs
}

func orEmpty(qs []any) []any {
	if qs == nil {
		return []any{}
	}
	return qs
}

func orderFromDocument(d documents.Order) Order {
	o := Order{
		ID: d.ID, CustomerID: d.CustomerID, Status: d.Status, CurrentStep: d.CurrentStep,
		CompletedSteps: orEmptySteps(d.CompletedSteps), PendingSteps: orEmptySteps(d.PendingSteps),
		Items: make([]messages.OrderLine, len(d.Items)), Total: d.Total, Currency: d.Currency,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, Version: d.Version,
		CustomerName: d.CustomerName, CustomerEmail: d.CustomerEmail, CancellationRequested: d.CancellationRequested,
	}
	for i, it := range d.Items {
		o.Items[i] = messages.OrderLine{ProductID: it.ProductID, ProductName: it.ProductName, SKU: it.SKU, Quantity: it.Quantity, UnitPrice: it.UnitPrice}
	}
	if d.Failure != nil {
		f := *d.Failure
		o.Failure = &f
	}
	if len(d.Compensations) > 0 {
		o.Compensations = slices.Clone(d.Compensations)
	}
	if len(d.Timeline) > 0 {
		o.Timeline = slices.Clone(d.Timeline)
	}
	return o
}

func orEmptySteps(s []messages.SagaStep) []messages.SagaStep {
	if s == nil {
		return []messages.SagaStep{}
	}
	return s
}
