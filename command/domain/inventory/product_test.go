package inventory_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/command/domain/inventory"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/messages"
)

const productID = "p-1"

// setup returns a created product with the given stock on hand.
func setup(t *testing.T, stock int) *inventory.Product {
	t.Helper()
	p := &inventory.Product{}
	apply(t, p)(p.Create(messages.CreateProduct{
		ProductID: productID, SKU: "W-1", Name: "Widget", Price: 2999, InitialStock: stock,
	}))
	return p
}

// apply checks that a decision succeeded without touching the product, then
// applies its events, the way a command handler does after appending them.
// It returns the events for further checks.
func apply(t *testing.T, p *inventory.Product) func([]messages.Event, error) []messages.Event {
	t.Helper()
	version := p.Version()
	return func(events []messages.Event, err error) []messages.Event {
		t.Helper()
		require.NoError(t, err)
		require.Equal(t, version, p.Version(), "decisions never mutate")
		for _, e := range events {
			p.Apply(e)
		}
		return events
	}
}

func requireCode(t *testing.T, code errcode.Code, events []messages.Event, err error) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, errcode.Of(err), err.Error())
	require.Empty(t, events)
}

func TestCreate(t *testing.T) {
	t.Parallel()

	p := setup(t, 10)
	require.Equal(t, productID, p.ID())
	require.Equal(t, "W-1", p.SKU())
	require.Equal(t, "Widget", p.Name())
	require.EqualValues(t, 2999, p.Price())
	require.Equal(t, 10, p.OnHand())
	require.Equal(t, 10, p.Available())
	require.Zero(t, p.Reserved())
	require.Zero(t, p.Committed())
	require.Equal(t, 1, p.Version())

	events, err := p.Create(messages.CreateProduct{ProductID: productID, SKU: "W-1", Name: "Widget", Price: 1})
	requireCode(t, errcode.Conflict, events, err)
}

func TestCreateValidates(t *testing.T) {
	t.Parallel()

	valid := messages.CreateProduct{ProductID: productID, SKU: "W-1", Name: "Widget", Price: 100, InitialStock: 0}
	tests := []struct {
		name  string
		edit  func(*messages.CreateProduct)
		field string
	}{
		{"no id", func(c *messages.CreateProduct) { c.ProductID = "" }, "productId"},
		{"no sku", func(c *messages.CreateProduct) { c.SKU = " " }, "sku"},
		{"no name", func(c *messages.CreateProduct) { c.Name = "" }, "name"},
		{"zero price", func(c *messages.CreateProduct) { c.Price = 0 }, "price"},
		{"negative price", func(c *messages.CreateProduct) { c.Price = -1 }, "price"},
		{"negative stock", func(c *messages.CreateProduct) { c.InitialStock = -1 }, "initialStock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := valid
			tt.edit(&cmd)
			events, err := (&inventory.Product{}).Create(cmd)
			requireCode(t, errcode.InvalidOrderData, events, err)
			var coded *errcode.Error
			require.ErrorAs(t, err, &coded)
			require.Equal(t, tt.field, coded.Details["field"])
		})
	}

	events, err := (&inventory.Product{}).Create(valid)
	require.NoError(t, err)
	require.Len(t, events, 1)
}

func TestDecisionsNeedAProduct(t *testing.T) {
	t.Parallel()

	p := &inventory.Product{}
	decisions := map[string]func() ([]messages.Event, error){
		"restock": func() ([]messages.Event, error) { return p.Restock(1) },
		"reserve": func() ([]messages.Event, error) { return p.Reserve("o-1", 1) },
		"release": func() ([]messages.Event, error) { return p.Release("o-1") },
		"commit":  func() ([]messages.Event, error) { return p.Commit("o-1") },
	}
	for name, decide := range decisions {
		events, err := decide()
		require.Equal(t, errcode.NotFound, errcode.Of(err), name)
		require.Empty(t, events, name)
	}
}

func TestRestock(t *testing.T) {
	t.Parallel()

	p := setup(t, 3)
	events := apply(t, p)(p.Restock(7))
	require.Equal(t, []messages.Event{messages.ProductRestocked{ProductID: productID, Quantity: 7}}, events)
	require.Equal(t, 10, p.OnHand())
	require.Equal(t, 10, p.Available())

	for _, qty := range []int{0, -1, math.MaxInt} {
		events, err := p.Restock(qty)
		requireCode(t, errcode.InvalidOrderData, events, err)
	}
}

func TestReserve(t *testing.T) {
	t.Parallel()

	p := setup(t, 10)
	events := apply(t, p)(p.Reserve("o-1", 4))
	require.Equal(t, []messages.Event{messages.StockReserved{ProductID: productID, OrderID: "o-1", Quantity: 4}}, events)
	require.Equal(t, 10, p.OnHand())
	require.Equal(t, 4, p.Reserved())
	require.Equal(t, 6, p.Available())
	require.Equal(t, 4, p.ReservedFor("o-1"))

	events = apply(t, p)(p.Reserve("o-2", 6))
	require.Len(t, events, 1)
	require.Zero(t, p.Available(), "the last unit can be reserved")
}

func TestReserveTwiceForTheSameOrderReservesOnce(t *testing.T) {
	t.Parallel()

	p := setup(t, 10)
	apply(t, p)(p.Reserve("o-1", 4))
	require.Empty(t, apply(t, p)(p.Reserve("o-1", 4)))
	require.Empty(t, apply(t, p)(p.Reserve("o-1", 2)), "a different quantity changes nothing either")
	require.Equal(t, 4, p.Reserved())
	require.Equal(t, 6, p.Available())
}

func TestReserveMoreThanAvailableIsRecordedAsRejection(t *testing.T) {
	t.Parallel()

	p := setup(t, 5)
	apply(t, p)(p.Reserve("o-1", 3))

	events := apply(t, p)(p.Reserve("o-2", 3))
	require.Equal(t, []messages.Event{messages.StockReservationRejected{
		ProductID: productID, OrderID: "o-2", Requested: 3, Available: 2, Reason: messages.ReasonInsufficientStock,
	}}, events)
	require.Equal(t, 2, p.Available(), "a rejection holds nothing")
	require.Equal(t, 3, p.Reserved())

	apply(t, p)(p.Restock(10))
	require.Empty(t, apply(t, p)(p.Reserve("o-2", 3)), "a rejected order keeps its decision")
	require.Zero(t, p.ReservedFor("o-2"))
}

func TestReserveValidates(t *testing.T) {
	t.Parallel()

	p := setup(t, 5)
	for _, tc := range []struct {
		order string
		qty   int
	}{{"", 1}, {" ", 1}, {"o-1", 0}, {"o-1", -2}} {
		events, err := p.Reserve(tc.order, tc.qty)
		requireCode(t, errcode.InvalidOrderData, events, err)
	}
}

func TestRelease(t *testing.T) {
	t.Parallel()

	p := setup(t, 5)
	apply(t, p)(p.Reserve("o-1", 3))

	events := apply(t, p)(p.Release("o-1"))
	require.Equal(t, []messages.Event{messages.StockReleased{ProductID: productID, OrderID: "o-1", Quantity: 3}}, events)
	require.Equal(t, 5, p.Available())
	require.Zero(t, p.Reserved())

	require.Empty(t, apply(t, p)(p.Release("o-1")), "releasing twice is a no-op")
	require.Empty(t, apply(t, p)(p.Reserve("o-1", 3)), "a released order cannot reserve again")
	require.Equal(t, 5, p.Available())
}

func TestReleaseOfWhatWasNeverReservedIsANoOp(t *testing.T) {
	t.Parallel()

	p := setup(t, 5)
	require.Empty(t, apply(t, p)(p.Release("never")))

	apply(t, p)(p.Reserve("big", 50)) // rejected
	require.Empty(t, apply(t, p)(p.Release("big")))

	apply(t, p)(p.Reserve("sold", 2))
	apply(t, p)(p.Commit("sold"))
	require.Empty(t, apply(t, p)(p.Release("sold")), "committed stock is not released")
	require.Equal(t, 3, p.Available())
	require.Equal(t, 3, p.OnHand())
}

func TestCommit(t *testing.T) {
	t.Parallel()

	p := setup(t, 5)
	apply(t, p)(p.Reserve("o-1", 2))

	events := apply(t, p)(p.Commit("o-1"))
	require.Equal(t, []messages.Event{messages.StockCommitted{ProductID: productID, OrderID: "o-1", Quantity: 2}}, events)
	require.Equal(t, 3, p.OnHand())
	require.Zero(t, p.Reserved())
	require.Equal(t, 3, p.Available())
	require.Equal(t, 2, p.Committed())
	require.Zero(t, p.ReservedFor("o-1"))

	require.Empty(t, apply(t, p)(p.Commit("o-1")), "committing twice is a no-op")
	require.Equal(t, 2, p.Committed())
}

func TestCommitWithoutReservationConflicts(t *testing.T) {
	t.Parallel()

	p := setup(t, 5)
	events, err := p.Commit("never")
	requireCode(t, errcode.Conflict, events, err)

	apply(t, p)(p.Reserve("o-1", 1))
	apply(t, p)(p.Release("o-1"))
	events, err = p.Commit("o-1")
	requireCode(t, errcode.Conflict, events, err)

	apply(t, p)(p.Reserve("big", 99))
	events, err = p.Commit("big")
	requireCode(t, errcode.Conflict, events, err)
}

func TestApplyCountsEveryEvent(t *testing.T) {
	t.Parallel()

	p := setup(t, 1)
	p.Apply(messages.FundsAdded{CustomerID: "c-1", Amount: 1})
	require.Equal(t, 2, p.Version())
	require.Equal(t, 1, p.OnHand())
}

// TestRandomSequencesKeepStockConserved drives a product through random
// reserve, release, commit and restock decisions and checks after each step
// that no unit appears, vanishes or goes negative.
func TestRandomSequencesKeepStockConserved(t *testing.T) {
	t.Parallel()

	rng := rand.New(rand.NewPCG(2025, 7))
	orders := []string{"o-0", "o-1", "o-2", "o-3", "o-4", "o-5", "o-6", "o-7", "o-8", "o-9", "o-10", "o-11"}

	for run := range 50 {
		initial := rng.IntN(30)
		p := setup(t, initial)
		restocked := 0

		for step := range 200 {
			order := orders[rng.IntN(len(orders))]
			var events []messages.Event
			var err error
			switch rng.IntN(4) {
			case 0:
				events, err = p.Reserve(order, 1+rng.IntN(10))
			case 1:
				events, err = p.Release(order)
			case 2:
				events, err = p.Commit(order)
				if errcode.Is(err, errcode.Conflict) {
					err = nil // committing without a reservation is refused; fine here
				}
			case 3:
				qty := 1 + rng.IntN(5)
				events, err = p.Restock(qty)
				restocked += qty
			}
			apply(t, p)(events, err)

			require.GreaterOrEqual(t, p.Available(), 0, "run %d step %d", run, step)
			require.GreaterOrEqual(t, p.Reserved(), 0, "run %d step %d", run, step)
			require.GreaterOrEqual(t, p.OnHand(), 0, "run %d step %d", run, step)
			require.GreaterOrEqual(t, p.Committed(), 0, "run %d step %d", run, step)
			require.Equal(t, initial+restocked, p.Available()+p.Reserved()+p.Committed(), "run %d step %d", run, step)

			held := 0
			for _, o := range orders {
				held += p.ReservedFor(o)
			}
			require.Equal(t, p.Reserved(), held, "reserved equals the sum of reservations")
		}
	}
}
