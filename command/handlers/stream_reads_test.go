package handlers_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/command/domain/inventory"
	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/internal/testenv"
	"github.com/orderflow/orderflow/messages"
)

// A follower of a stream gets its events after a version, decoded; an
// event that does not decode ends the list with ErrUndecodable, the events
// before it still delivered.
func TestEventsAfterStopsAtAnUndecodableEvent(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	svc, err := service.Open(ctx, env.Config, env.Logger)
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	h := handlers.New(svc.Stores(), time.Now, env.Logger)

	product := uuid.NewString()
	_, err = h.CreateProduct(ctx, handlers.Message{ID: uuid.NewString()}, messages.CreateProduct{ProductID: product, SKU: "MUG", Name: "Mug", Price: 1250, InitialStock: 1},
		handlers.With[*inventory.Product]{})
	require.NoError(t, err)
	for range 2 {
		_, err = h.RestockProduct(ctx, handlers.Message{ID: uuid.NewString()}, messages.RestockProduct{ProductID: product, Quantity: 2},
			handlers.With[*inventory.Product]{})
		require.NoError(t, err)
	}

	events, err := h.Products.EventsAfter(ctx, product, 1)
	require.NoError(t, err)
	require.Equal(t, []messages.Event{messages.ProductRestocked{ProductID: product, Quantity: 2}, messages.ProductRestocked{ProductID: product, Quantity: 2}}, events)

	_, err = env.Pool.Exec(ctx, `UPDATE inventory.events SET event_type = 'inventory.NoSuchEvent' WHERE stream_id = $1 AND version = 3`, product)
	require.NoError(t, err)
	events, err = h.Products.EventsAfter(ctx, product, 0)
	require.ErrorIs(t, err, handlers.ErrUndecodable)
	require.Len(t, events, 2, "the events before the undecodable one")
	require.IsType(t, messages.ProductCreated{}, events[0])
}
