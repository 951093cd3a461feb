package query_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/internal/systemtest"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/query"
	"github.com/orderflow/orderflow/sagas"
)

var admin = auth.Principal{Subject: "ops", Roles: []auth.Role{auth.RoleAdmin}}

// world is orderflow end to end: the write path and the live projectors
// on real servers, and the readers under test.
type world struct {
	t         *testing.T
	svc       *systemtest.Process
	app       app.Application
	saga      *sagas.Processor
	orders    *query.OrdersIndex
	products  *query.ProductsIndex
	customers *query.CustomersIndex
}

func setup(t *testing.T) *world {
	t.Helper()
	sys := systemtest.Start(t, systemtest.Options{})
	saga := sys.Service.Sagas
	read := sys.Service.ReadModels()
	return &world{
		t: t, svc: sys.Service, app: sys.App, saga: saga,
		orders:    read.Orders.(*query.OrdersIndex),
		products:  read.Products.(*query.ProductsIndex),
		customers: read.Customers.(*query.CustomersIndex),
	}
}

func (w *world) product(name string, stock int, price money.Amount) query.Product {
	p, err := w.app.Commands.CreateProduct.Handle(context.Background(), admin, app.CreateProduct{
		SKU: fmt.Sprintf("SKU-%d", rand.IntN(1e9)), Name: name, Price: price, InitialStock: stock,
	})
	require.NoError(w.t, err)
	return p
}

func (w *world) customer(name string, credit money.Amount) query.Customer {
	local := strings.ToLower(strings.Fields(name)[0])
	c, err := w.app.Commands.RegisterCustomer.Handle(context.Background(), admin, app.RegisterCustomer{
		Email: fmt.Sprintf("%s.%d@example.com", local, rand.IntN(1e9)), Name: name, InitialCredit: credit,
	})
	require.NoError(w.t, err)
	return c
}

// order places an order and waits until it is final and projected, so
// the next one is placed strictly later.
func (w *world) order(c query.Customer, items ...app.OrderItem) query.Order {
	ctx := context.Background()
	placed, err := w.app.Commands.PlaceOrder.Handle(ctx, admin, app.PlaceOrder{
		CustomerID: c.ID, IdempotencyKey: fmt.Sprintf("key-%d", rand.Int64()), Items: items,
		ShippingAddress: messages.Address{Street: "1 Main St", City: "Springfield", Zip: "12345", Country: "US"},
		PaymentMethod:   messages.PaymentMethod{Type: "card", Token: "tok_4242"},
	})
	require.NoError(w.t, err)
	// Final, and the saga done: compensations may be recorded after the
	// order ended.
	var final query.Order
	require.Eventually(w.t, func() bool {
		st, err := w.saga.Get(ctx, placed.ID)
		if err != nil || st == nil || st.Active() {
			return false
		}
		// The order as its event stream folds, without waiting.
		o, done, err := w.app.Queries.AwaitFinalOrder.Handle(ctx, admin, placed.ID, time.Nanosecond)
		final = o
		return err == nil && done
	}, time.Minute, 20*time.Millisecond)
	o, err := w.orders.WaitForOrderVersion(ctx, placed.ID, final.Version)
	require.NoError(w.t, err)
	return o
}

func item(p query.Product, qty int) app.OrderItem {
	return app.OrderItem{ProductID: p.ID, Quantity: qty}
}

func idsOf(orders []query.Order) []string {
	out := make([]string, len(orders))
	for i, o := range orders {
		out[i] = o.ID
	}
	return out
}

func amount(a money.Amount) *money.Amount { return &a }

// Six orders with known outcomes; every filter, the facets, the sorts and
// the pagination must return exactly what the data says.
func TestOrderSearch(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	mug := w.product("Blue Coffee Mug", 100, 1250)
	pen := w.product("Ballpoint Pen", 100, 199)
	statue := w.product("Golden Statue", 0, 5000)
	ann := w.customer("Ann Archer", 100000)
	bob := w.customer("Bob Builder", 300)

	o1 := w.order(ann, item(mug, 2))               // CONFIRMED 2500
	o2 := w.order(ann, item(pen, 1))               // CONFIRMED 199
	o3 := w.order(ann, item(statue, 1))            // CANCELLED INVENTORY_UNAVAILABLE 5000
	o4 := w.order(bob, item(mug, 1))               // CANCELLED PAYMENT_FAILED 1250
	o5 := w.order(bob, item(pen, 1))               // CONFIRMED 199
	o6 := w.order(ann, item(mug, 1), item(pen, 2)) // CONFIRMED 1648
	require.Equal(t, messages.StatusCancelled, o3.Status)
	require.Equal(t, errcode.InventoryUnavailable, o3.Failure.Code)
	require.Equal(t, errcode.PaymentFailed, o4.Failure.Code)
	require.Equal(t, money.Amount(1648), o6.Total)

	search := func(s query.OrderSearch) query.OrderSearchResult {
		t.Helper()
		res, err := w.orders.Search(ctx, s)
		require.NoError(t, err)
		return res
	}
	// Searches see refreshed documents (realtime reads by id do not):
	// wait until all six are searchable in their final state.
	require.Eventually(t, func() bool {
		res, err := w.orders.Search(ctx, query.OrderSearch{Statuses: []messages.OrderStatus{messages.StatusConfirmed, messages.StatusCancelled}})
		return err == nil && res.Total == 6
	}, time.Minute, 50*time.Millisecond)

	t.Run("everything, newest first, with facets", func(t *testing.T) {
		res := search(query.OrderSearch{})
		require.Equal(t, 6, res.Total)
		require.Equal(t, idsOf([]query.Order{o6, o5, o4, o3, o2, o1}), idsOf(res.Orders))
		require.False(t, res.HasNextPage)
		require.Empty(t, res.EndCursor)
		require.ElementsMatch(t, []query.FacetCount{{Value: "CONFIRMED", Count: 4}, {Value: "CANCELLED", Count: 2}}, res.StatusFacets)
		require.ElementsMatch(t, []query.FacetCount{
			{Value: "ORDER_CONFIRMED", Count: 4}, {Value: "ORDER_CREATED", Count: 1}, {Value: "INVENTORY_RESERVED", Count: 1},
		}, res.StepFacets)
		require.Nil(t, res.Orders[0].Timeline, "search results leave the timeline out")
		require.Equal(t, "Ann Archer", res.Orders[0].CustomerName)
	})

	t.Run("status filter keeps its own facet whole", func(t *testing.T) {
		res := search(query.OrderSearch{Statuses: []messages.OrderStatus{messages.StatusCancelled}})
		require.Equal(t, 2, res.Total)
		require.Equal(t, idsOf([]query.Order{o4, o3}), idsOf(res.Orders))
		require.ElementsMatch(t, []query.FacetCount{{Value: "CONFIRMED", Count: 4}, {Value: "CANCELLED", Count: 2}}, res.StatusFacets)
		require.ElementsMatch(t, []query.FacetCount{{Value: "ORDER_CREATED", Count: 1}, {Value: "INVENTORY_RESERVED", Count: 1}}, res.StepFacets)
	})

	t.Run("current step", func(t *testing.T) {
		res := search(query.OrderSearch{CurrentSteps: []messages.SagaStep{messages.StepInventoryReserved, messages.StepOrderCreated}})
		require.Equal(t, idsOf([]query.Order{o4, o3}), idsOf(res.Orders))
		require.ElementsMatch(t, []query.FacetCount{{Value: "CANCELLED", Count: 2}}, res.StatusFacets)
	})

	t.Run("customer and product", func(t *testing.T) {
		require.Equal(t, idsOf([]query.Order{o5, o4}), idsOf(search(query.OrderSearch{CustomerID: bob.ID}).Orders))
		require.Equal(t, idsOf([]query.Order{o6, o5, o2}), idsOf(search(query.OrderSearch{ProductID: pen.ID}).Orders))
		res := search(query.OrderSearch{CustomerID: ann.ID, ProductID: mug.ID})
		require.Equal(t, idsOf([]query.Order{o6, o1}), idsOf(res.Orders))
	})

	t.Run("free text", func(t *testing.T) {
		annOrders := idsOf([]query.Order{o6, o3, o2, o1})
		mugOrders := idsOf([]query.Order{o6, o4, o1})
		for text, want := range map[string][]string{
			"Ann Archer":               annOrders,
			"archer":                   annOrders,
			strings.ToUpper(ann.Email): annOrders,
			ann.Email:                  annOrders,
			ann.ID:                     annOrders,
			"bob":                      idsOf([]query.Order{o5, o4}),
			"coffee mug":               mugOrders,
			strings.ToLower(mug.SKU):   mugOrders,
			mug.SKU:                    mugOrders,
			mug.ID:                     mugOrders,
			o3.ID:                      {o3.ID},
			o3.ID[:13]:                 {o3.ID},
			"statue":                   {o3.ID},
			"nothing-like-this":        {},
		} {
			res := search(query.OrderSearch{Text: text})
			require.Equal(t, want, idsOf(res.Orders), "text %q", text)
			require.Equal(t, len(want), res.Total, "text %q", text)
		}
	})

	t.Run("failure code", func(t *testing.T) {
		require.Equal(t, []string{o4.ID}, idsOf(search(query.OrderSearch{FailureCode: errcode.PaymentFailed}).Orders))
		require.Equal(t, []string{o3.ID}, idsOf(search(query.OrderSearch{FailureCode: errcode.InventoryUnavailable}).Orders))
	})

	t.Run("amount range", func(t *testing.T) {
		res := search(query.OrderSearch{MinTotal: amount(1000), MaxTotal: amount(2500)})
		require.Equal(t, idsOf([]query.Order{o6, o4, o1}), idsOf(res.Orders))
		require.Equal(t, idsOf([]query.Order{o3}), idsOf(search(query.OrderSearch{MinTotal: amount(2501)}).Orders))
		require.Equal(t, idsOf([]query.Order{o5, o2}), idsOf(search(query.OrderSearch{MaxTotal: amount(199)}).Orders))
	})

	t.Run("created range", func(t *testing.T) {
		res := search(query.OrderSearch{CreatedFrom: o3.CreatedAt, CreatedTo: o5.CreatedAt})
		require.Equal(t, idsOf([]query.Order{o4, o3}), idsOf(res.Orders), "from inclusive, to exclusive")
		require.Equal(t, idsOf([]query.Order{o6, o5}), idsOf(search(query.OrderSearch{CreatedFrom: o5.CreatedAt}).Orders))
	})

	t.Run("sort by total", func(t *testing.T) {
		desc := search(query.OrderSearch{Sort: query.SortTotalDesc})
		require.Equal(t, idsOf([]query.Order{o3, o1, o6, o4, o5, o2}), idsOf(desc.Orders), "equal totals: newest first")
		asc := search(query.OrderSearch{Sort: query.SortTotalAsc})
		require.Equal(t, idsOf([]query.Order{o5, o2, o4, o6, o1, o3}), idsOf(asc.Orders))
		oldest := search(query.OrderSearch{Sort: query.SortCreatedAsc})
		require.Equal(t, idsOf([]query.Order{o1, o2, o3, o4, o5, o6}), idsOf(oldest.Orders))
	})

	t.Run("pagination", func(t *testing.T) {
		for sort, want := range map[query.OrderSort][]string{
			"":                   idsOf([]query.Order{o6, o5, o4, o3, o2, o1}),
			query.SortTotalDesc:  idsOf([]query.Order{o3, o1, o6, o4, o5, o2}),
			query.SortCreatedAsc: idsOf([]query.Order{o1, o2, o3, o4, o5, o6}),
		} {
			var got []string
			after := ""
			for page := 0; ; page++ {
				res := search(query.OrderSearch{Sort: sort, First: 4, After: after})
				require.Equal(t, 6, res.Total, "the total counts every page")
				got = append(got, idsOf(res.Orders)...)
				if !res.HasNextPage {
					require.Empty(t, res.EndCursor)
					require.Equal(t, 1, page, "two pages of at most four")
					break
				}
				require.Len(t, res.Orders, 4)
				after = res.EndCursor
			}
			require.Equal(t, want, got, "sort %q", sort)
		}
		filtered := search(query.OrderSearch{CustomerID: ann.ID, First: 1})
		second := search(query.OrderSearch{CustomerID: ann.ID, First: 1, After: filtered.EndCursor})
		require.Equal(t, []string{o6.ID}, idsOf(filtered.Orders))
		require.Equal(t, []string{o3.ID}, idsOf(second.Orders))
	})

	t.Run("invalid input", func(t *testing.T) {
		first := search(query.OrderSearch{First: 1})
		for _, s := range []query.OrderSearch{
			{After: "not a cursor"},
			{After: first.EndCursor, Sort: query.SortTotalAsc},
			{First: query.MaxOrderPageSize + 1},
			{First: -1},
			{Sort: "RANDOM"},
			{MinTotal: amount(10), MaxTotal: amount(5)},
		} {
			_, err := w.orders.Search(ctx, s)
			require.True(t, errcode.Is(err, errcode.InvalidOrderData), "%+v: got %v", s, err)
		}
	})

	t.Run("readers by id", func(t *testing.T) {
		o, err := w.orders.Order(ctx, o4.ID)
		require.NoError(t, err)
		require.Equal(t, o4.Version, o.Version)
		require.Len(t, o.Timeline, o4.Version)
		require.Equal(t, "ordering.OrderPlaced", o.Timeline[0].Type)
		require.NotEmpty(t, o.Compensations)

		p, err := w.products.Product(ctx, mug.ID)
		require.NoError(t, err)
		want, err := w.app.Queries.Product.Handle(ctx, admin, mug.ID)
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			p, err = w.products.Product(ctx, mug.ID)
			return err == nil && p.Version == want.Version
		}, time.Minute, 20*time.Millisecond)
		require.Equal(t, want.Available, p.Available)
		require.Equal(t, 97, p.Available, "three mugs sold")

		c, err := w.customers.Customer(ctx, bob.ID)
		require.NoError(t, err)
		require.Equal(t, bob.Email, c.Email)

		for _, err := range []error{
			func() error { _, err := w.orders.Order(ctx, "missing"); return err }(),
			func() error { _, err := w.products.Product(ctx, "missing"); return err }(),
			func() error { _, err := w.customers.Customer(ctx, "missing"); return err }(),
		} {
			require.True(t, errcode.Is(err, errcode.NotFound), "got %v", err)
		}
	})

	t.Run("wait for a version", func(t *testing.T) {
		o, err := w.orders.WaitForOrderVersion(ctx, o6.ID, o6.Version)
		require.NoError(t, err)
		require.Equal(t, o6.Version, o.Version)

		short := query.NewOrdersIndex(nil, "")
		*short = *w.orders
		short.MaxWait = 200 * time.Millisecond
		start := time.Now()
		o, err = short.WaitForOrderVersion(ctx, o6.ID, o6.Version+1)
		require.ErrorIs(t, err, query.ErrReadModelBehind)
		require.Equal(t, o6.Version, o.Version, "the newest order seen comes back")
		require.Less(t, time.Since(start), 2*time.Second)
	})
}
