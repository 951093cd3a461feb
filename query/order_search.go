package query

import (
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/messages"
)

// OrderSort orders search results. Every order has a unique id as the last
// tie-breaker, so pages never overlap or skip.
type OrderSort string

// The sorts of the admin order search.
const (
	// SortCreatedDesc: newest first (the default).
	SortCreatedDesc OrderSort = "CREATED_DESC"
	// SortCreatedAsc: oldest first.
	SortCreatedAsc OrderSort = "CREATED_ASC"
	// SortTotalDesc: largest total first, newest first among equals.
	SortTotalDesc OrderSort = "TOTAL_DESC"
	// SortTotalAsc: smallest total first, newest first among equals.
	SortTotalAsc OrderSort = "TOTAL_ASC"
)

// Valid reports whether s is a known sort ("" counts as the default).
func (s OrderSort) Valid() bool {
	switch s {
	case "", SortCreatedDesc, SortCreatedAsc, SortTotalDesc, SortTotalAsc:
		return true
	}
	return false
}

// Page sizes of the order search.
const (
	DefaultOrderPageSize = 20
	MaxOrderPageSize     = 100
)

// OrderSearch is an admin search over all orders. Every field is
// optional; set fields narrow the result (AND), values inside a list widen
// it (OR).
type OrderSearch struct {
	// Text matches an order id (whole or prefix), a customer id, name or
	// email, or a product id, name or SKU of any line.
	Text string
	// Statuses keeps orders in any of these statuses.
	Statuses []messages.OrderStatus
	// CurrentSteps keeps orders whose latest completed step is one of
	// these.
	CurrentSteps []messages.SagaStep
	CustomerID   string
	// ProductID keeps orders with a line of this product.
	ProductID string
	// CreatedFrom and CreatedTo bound the placement time: From inclusive,
	// To exclusive; zero means unbounded.
	CreatedFrom time.Time
	CreatedTo   time.Time
	// MinTotal and MaxTotal bound the total, both inclusive; nil means
	// unbounded.
	MinTotal *money.Amount
	MaxTotal *money.Amount
	// FailureCode keeps orders that ended with this code.
	FailureCode errcode.Code
	// Sort defaults to SortCreatedDesc.
	Sort OrderSort
	// First is the page size (default DefaultOrderPageSize, at most
	// MaxOrderPageSize).
	First int
	// After is the EndCursor of the previous page; empty for the first.
	After string
}

// OrderSearchResult is one page of an order search.
type OrderSearchResult struct {
	// Total counts every order that matches, on all pages.
	Total int
	// Orders is this page; search results carry no Timeline.
	Orders []Order
	// EndCursor continues after this page (OrderSearch.After); empty when
	// HasNextPage is false.
	EndCursor   string
	HasNextPage bool
	// StatusFacets count the matching orders per status, and StepFacets
	// per current step. Each facet ignores its own filter (the counts of
	// the other statuses stay visible when one is selected) but applies
	// every other one.
	StatusFacets []FacetCount
	StepFacets   []FacetCount
}

// FacetCount is how many results have one value.
type FacetCount struct {
	Value string
	Count int
}

// orderCursor is what an opaque cursor carries: the sort it belongs to
// and the sort values of the last order of the page.
type orderCursor struct {
	Sort   OrderSort         `json:"s"`
	Values []json.RawMessage `json:"v"`
}

func (c orderCursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeOrderCursor(s string, sort OrderSort, fields int) (orderCursor, error) {
	invalid := errcode.New(errcode.InvalidOrderData, "the cursor is not valid for this search").With("field", "after")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return orderCursor{}, invalid
	}
	var c orderCursor
	if json.Unmarshal(raw, &c) != nil || c.Sort != sort || len(c.Values) != fields {
		return orderCursor{}, invalid
	}
	return c, nil
}
