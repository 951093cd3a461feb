package graph_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/deadletter"
	"github.com/orderflow/orderflow/internal/systemtest"
)

type deadLetterJSON struct {
	ID, Handler, AggregateID, MessageID, Type, ErrorClass, Status, Error, Payload string
	Attempts                                                                      int
	ResolvedBy                                                                    *string
	Headers                                                                       []struct{ Key, Value string }
	Actions                                                                       []struct{ Action, Actor, Reason string }
}

const deadLetterFields = `id handler aggregateId messageId type errorClass status error payload attempts resolvedBy
	headers { key value } actions { action actor reason }`

// Operators list, page, filter, read, replay and discard dead letters over
// GraphQL, every action recorded; customers may not.
func TestDeadLetterOperations(t *testing.T) {
	t.Parallel()
	f := setupWith(t, systemtest.Options{API: true, NoWorker: true, NoProjector: true})
	ctx := context.Background()
	store := deadletter.NewStore(f.env.Pool, f.env.Config.Namespace, nil)

	// Five entries of one order for the inventory commands (the first dead,
	// the others waiting behind it), two of a product for a projection.
	order, product := uuid.NewString(), uuid.NewString()
	park := func(handler, key, typ string, class deadletter.Class, i int) {
		_, added, err := store.Park(ctx, deadletter.Message{
			Handler: handler, Topic: "orderflow.inventory.commands", Partition: 3, Offset: int64(i), Key: key,
			MessageID: uuid.NewString(), Type: typ, Payload: []byte(fmt.Sprintf(`{"n":%d}`, i)), Headers: map[string]string{"name": typ},
		}, class, errors.New("cannot handle it"), 1)
		require.NoError(t, err)
		require.True(t, added)
	}
	park("inventory.commands", order, "inventory.ReserveStock", deadletter.Permanent, 0)
	for i := 1; i < 5; i++ {
		park("inventory.commands", order, "inventory.ReserveStock", deadletter.Waiting, i)
	}
	park("projections.products", product, "inventory.StockReserved", deadletter.Transient, 5)
	park("projections.products", product, "inventory.StockReserved", deadletter.Waiting, 6)

	list := `query($f: DeadLetterFilter, $first: Int, $after: String) { deadLetters(filter: $f, first: $first, after: $after) {
		total hasNextPage endCursor counts { handler errorClass count } deadLetters { ` + deadLetterFields + ` } } }`
	type page struct {
		DeadLetters struct {
			Total       int
			HasNextPage bool
			EndCursor   *string
			Counts      []struct {
				Handler, ErrorClass string
				Count               int
			}
			DeadLetters []deadLetterJSON
		}
	}
	var p page
	res := f.post(t, f.admin, list, map[string]any{"first": 3})
	require.Empty(t, res.Errors)
	require.NoError(t, json.Unmarshal(res.Data, &p))
	require.Equal(t, 7, p.DeadLetters.Total)
	require.True(t, p.DeadLetters.HasNextPage)
	require.Len(t, p.DeadLetters.DeadLetters, 3)
	require.Equal(t, "projections.products", p.DeadLetters.DeadLetters[0].Handler, "newest first")
	require.ElementsMatch(t, []struct {
		Handler, ErrorClass string
		Count               int
	}{{"inventory.commands", "PERMANENT", 1}, {"inventory.commands", "WAITING", 4}, {"projections.products", "TRANSIENT", 1}, {"projections.products", "WAITING", 1}}, p.DeadLetters.Counts)

	// Paging through everything returns every entry once.
	seen := map[string]bool{}
	var after any
	for {
		var q page
		res := f.post(t, f.admin, list, map[string]any{"first": 2, "after": after})
		require.Empty(t, res.Errors)
		require.NoError(t, json.Unmarshal(res.Data, &q))
		for _, d := range q.DeadLetters.DeadLetters {
			require.False(t, seen[d.ID])
			seen[d.ID] = true
		}
		if !q.DeadLetters.HasNextPage {
			require.Nil(t, q.DeadLetters.EndCursor)
			break
		}
		after = *q.DeadLetters.EndCursor
	}
	require.Len(t, seen, 7)

	// Filters.
	for _, c := range []struct {
		filter map[string]any
		total  int
	}{
		{map[string]any{"aggregateId": order}, 5},
		{map[string]any{"handler": "projections.products"}, 2},
		{map[string]any{"status": "DEAD"}, 1},
		{map[string]any{"errorClass": "WAITING"}, 5},
		{map[string]any{"type": "inventory.StockReserved", "errorClass": "TRANSIENT"}, 1},
		{map[string]any{"from": "2000-01-01T00:00:00Z", "to": "2001-01-01T00:00:00Z"}, 0},
	} {
		var q page
		res := f.post(t, f.admin, list, map[string]any{"f": c.filter})
		require.Empty(t, res.Errors, "%v", c.filter)
		require.NoError(t, json.Unmarshal(res.Data, &q))
		require.Equal(t, c.total, q.DeadLetters.Total, "%v", c.filter)
	}

	// One entry, with its payload, headers and audit trail.
	var dead page
	res = f.post(t, f.admin, list, map[string]any{"f": map[string]any{"status": "DEAD"}})
	require.NoError(t, json.Unmarshal(res.Data, &dead))
	head := dead.DeadLetters.DeadLetters[0]
	var one struct{ DeadLetter deadLetterJSON }
	res = f.post(t, f.admin, `query($id: ID!) { deadLetter(id: $id) { `+deadLetterFields+` } }`, map[string]any{"id": head.ID})
	require.Empty(t, res.Errors)
	require.NoError(t, json.Unmarshal(res.Data, &one))
	require.Equal(t, order, one.DeadLetter.AggregateID)
	require.Equal(t, `{"n":0}`, one.DeadLetter.Payload)
	require.Equal(t, "cannot handle it", one.DeadLetter.Error)
	require.Equal(t, []struct{ Key, Value string }{{"name", "inventory.ReserveStock"}}, one.DeadLetter.Headers)
	require.Equal(t, []struct{ Action, Actor, Reason string }{{"dead", "scheduler", "cannot handle it"}}, one.DeadLetter.Actions)

	// Replay by aggregate: every open entry of the order, recorded with the
	// operator's name.
	var replayed struct{ ReplayDeadLetters []deadLetterJSON }
	res = f.post(t, f.admin, `mutation($a: ID) { replayDeadLetters(aggregateId: $a) { `+deadLetterFields+` } }`, map[string]any{"a": order})
	require.Empty(t, res.Errors)
	require.NoError(t, json.Unmarshal(res.Data, &replayed))
	require.Len(t, replayed.ReplayDeadLetters, 5)
	for _, d := range replayed.ReplayDeadLetters {
		require.Equal(t, "PARKED", d.Status)
		last := d.Actions[len(d.Actions)-1]
		require.Equal(t, "replay_requested", last.Action)
		require.Contains(t, last.Actor, "admin-")
	}

	// Replay by ids; discard with a reason.
	res = f.post(t, f.admin, `mutation($ids: [ID!]) { replayDeadLetters(ids: $ids) { id status } }`, map[string]any{"ids": []string{head.ID}})
	require.Empty(t, res.Errors)
	var discarded struct{ DiscardDeadLetter deadLetterJSON }
	res = f.post(t, f.admin, `mutation($id: ID!, $r: String!) { discardDeadLetter(id: $id, reason: $r) { `+deadLetterFields+` } }`,
		map[string]any{"id": head.ID, "r": "the order was cancelled by hand"})
	require.Empty(t, res.Errors)
	require.NoError(t, json.Unmarshal(res.Data, &discarded))
	require.Equal(t, "DISCARDED", discarded.DiscardDeadLetter.Status)
	require.NotNil(t, discarded.DiscardDeadLetter.ResolvedBy)
	last := discarded.DiscardDeadLetter.Actions[len(discarded.DiscardDeadLetter.Actions)-1]
	require.Equal(t, "discarded", last.Action)
	require.Equal(t, "the order was cancelled by hand", last.Reason)

	// Refusals: a discard again, bad input, unknown ids.
	requireCode(t, f.post(t, f.admin, `mutation($id: ID!) { discardDeadLetter(id: $id, reason: "again") { id } }`, map[string]any{"id": head.ID}), "CONFLICT")
	requireCode(t, f.post(t, f.admin, `mutation($id: ID!) { discardDeadLetter(id: $id, reason: "  ") { id } }`, map[string]any{"id": head.ID}), "INVALID_ORDER_DATA")
	requireCode(t, f.post(t, f.admin, `mutation { replayDeadLetters { id } }`, nil), "INVALID_ORDER_DATA")
	requireCode(t, f.post(t, f.admin, `mutation { replayDeadLetters(ids: ["x"]) { id } }`, nil), "INVALID_ORDER_DATA")
	requireCode(t, f.post(t, f.admin, `{ deadLetter(id: "999999") { id } }`, nil), "NOT_FOUND")
	requireCode(t, f.post(t, f.admin, `{ deadLetters(first: 501) { total } }`, nil), "INVALID_ORDER_DATA")
	requireCode(t, f.post(t, f.admin, `mutation { redriveOrderSaga(orderId: "no-such-order") { orderId } }`, nil), "NOT_FOUND")

	// Customers and strangers are refused everything.
	customer := f.token(t, uuid.NewString(), auth.RoleCustomer)
	for _, q := range []string{
		`{ deadLetters { total } }`,
		`{ deadLetter(id: "` + head.ID + `") { id } }`,
		`mutation { replayDeadLetters(aggregateId: "` + order + `") { id } }`,
		`mutation { discardDeadLetter(id: "` + head.ID + `", reason: "mine") { id } }`,
		`mutation { redriveOrderSaga(orderId: "` + order + `") { orderId } }`,
	} {
		requireCode(t, f.post(t, customer, q, nil), "FORBIDDEN")
		requireCode(t, f.post(t, "", q, nil), "UNAUTHENTICATED")
	}

	// No worker runs: a placed order's saga waits on its reservation. A
	// re-drive sends it again under a new id; the saga stays where it was.
	mug, c := f.createProduct(t, "2.00", 5), f.registerCustomer(t, "100.00")
	placed := f.placeOrder(t, f.token(t, c.ID, auth.RoleCustomer), placeOrderInput("redrive-me", mug.ID, 1))
	var redrive struct {
		RedriveOrderSaga struct {
			OrderID, Phase, PhaseAfter string
			Outcome                    *string
			Commands                   []struct{ MessageID, Type string }
		}
	}
	res = f.post(t, f.admin, `mutation($id: ID!) { redriveOrderSaga(orderId: $id) { orderId phase phaseAfter outcome commands { messageId type } } }`,
		map[string]any{"id": placed.ID})
	require.Empty(t, res.Errors)
	require.NoError(t, json.Unmarshal(res.Data, &redrive))
	got := redrive.RedriveOrderSaga
	require.Equal(t, placed.ID, got.OrderID)
	require.Equal(t, got.Phase, got.PhaseAfter, "an open saga resumes where it stood")
	require.NotEqual(t, "DONE", got.PhaseAfter)
	require.Nil(t, got.Outcome, "not finished by the re-drive")
	require.Len(t, got.Commands, 1)
	require.Equal(t, "inventory.ReserveStock", got.Commands[0].Type)
}
