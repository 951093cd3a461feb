package handlers_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/command/domain/inventory"
	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/internal/testenv"
	"github.com/orderflow/orderflow/messages"
)

// A command costs two round trips: BEGIN with the stream read and the
// inbox claim, then the append with COMMIT.
func TestCommandTakesTwoRoundTrips(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	cfg := env.Pool.Config().Copy()
	cfg.MaxConns = 1
	trips := &testenv.RoundTrips{}
	cfg.ConnConfig.Tracer = trips
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	h := handlers.New(handlers.Stores{Inventory: eventstore.New(pool, "inventory")}, time.Now, env.Logger)

	productID := uuid.NewString()
	_, err = h.Products.Execute(ctx, handlers.Message{Handler: "test", ID: uuid.NewString()}, productID,
		func(p *inventory.Product) ([]messages.Event, error) {
			return p.Create(messages.CreateProduct{ProductID: productID, SKU: "S", Name: "N", Price: 1, InitialStock: 1})
		})
	require.NoError(t, err)
	var trip int64
	for i := range 3 { // the first prepares the statements on the connection
		before := trips.Trips.Load()
		res, err := h.Products.Execute(ctx, handlers.Message{Handler: "test", ID: uuid.NewString()}, productID,
			func(p *inventory.Product) ([]messages.Event, error) { return p.Restock(1) })
		require.NoError(t, err)
		require.Equal(t, 2+i, res.Version)
		require.Len(t, res.Records, 1)
		require.NotZero(t, res.Records[0].Position, "the record is complete once committed")
		trip = trips.Trips.Load() - before
	}
	require.Equal(t, int64(2), trip)
	stored, err := eventstore.New(env.Pool, "inventory").ReadStream(ctx, env.Pool, productID, 0)
	require.NoError(t, err)
	require.Len(t, stored, 4, "every append committed")
}
