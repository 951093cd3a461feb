package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/internal/testenv"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/timeline"
)

// orderflow order <id> against the real servers: the order's events of
// every context in time order, as a table and as JSON; an unknown order
// fails.
func TestOrderCommand(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	const orderID = "order-1"
	appendTo := func(schema, stream, streamType string, causation string, e messages.Event) {
		store := eventstore.New(env.Pool, schema)
		tx, err := env.Pool.Begin(ctx)
		require.NoError(t, err)
		version, err := store.StreamVersion(ctx, tx, stream)
		require.NoError(t, err)
		_, err = store.Append(ctx, tx, stream, streamType, version, eventstore.Metadata{CorrelationID: orderID, CausationID: causation}, e)
		require.NoError(t, err)
		require.NoError(t, tx.Commit(ctx))
	}
	appendTo("ordering", orderID, handlers.OrderStream, orderID, messages.OrderPlaced{OrderID: orderID, CustomerID: "c-1", Total: 1250, Currency: "USD"})
	appendTo("inventory", "p-1", handlers.ProductStream, "reserve-1",
		messages.ProductCreated{ProductID: "p-1", SKU: "MUG-1", Name: "Mug", Price: 1250, InitialStock: 5})
	appendTo("inventory", "p-1", handlers.ProductStream, "reserve-1", messages.StockReserved{ProductID: "p-1", OrderID: orderID, Quantity: 1})

	vars := []string{"ORDERFLOW_DEV=true", "ORDERFLOW_POSTGRES_URL=" + env.Config.PostgresURL, "ORDERFLOW_NAMESPACE=" + env.Config.Namespace}
	code, stdout, stderr := runBinary(t, vars, "order", orderID)
	require.Equal(t, 0, code, "stderr:\n%s", stderr)
	require.Contains(t, stdout, "order "+orderID)
	require.Contains(t, stdout, "saga: none")
	require.Regexp(t, `(?s)ordering\.OrderPlaced.*inventory\.StockReserved`, stdout, "in time order")
	require.NotContains(t, stdout, "ProductCreated", "only what concerns the order")

	code, stdout, stderr = runBinary(t, vars, "order", "--json", orderID)
	require.Equal(t, 0, code, "stderr:\n%s", stderr)
	var tl timeline.Timeline
	require.NoError(t, json.Unmarshal([]byte(stdout), &tl), stdout)
	require.Len(t, tl.Entries, 2)
	require.Equal(t, "p-1", tl.Entries[1].Stream)
	require.Equal(t, 2, tl.Entries[1].Version)
	require.Equal(t, orderID, tl.Entries[1].CorrelationID)
	require.Equal(t, "reserve-1", tl.Entries[1].CausationID)

	code, _, stderr = runBinary(t, vars, "order", "no-such-order")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "order no-such-order not found")
	code, _, stderr = runBinary(t, vars, "order")
	require.NotEqual(t, 0, code)
	require.Contains(t, stderr, "one order id")
}
