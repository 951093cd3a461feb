package reconcile

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/testenv"
	"github.com/orderflow/orderflow/messages"
)

// TestReadGivesEveryEventOnceInOrder reads streams whose lengths fall on
// and across chunk boundaries (a chunk ending inside a stream, one ending
// exactly at a stream's end, streams shorter than a chunk, an id with no
// stream), on the real PostgreSQL, and gets each event exactly once, in
// stream id and version order.
func TestReadGivesEveryEventOnceInOrder(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	lengths := map[string]int{"product-a": 7, "product-b": 3, "product-c": 1, "product-d": 5, "product-e": 2}
	var want []string
	for _, id := range []string{"product-a", "product-b", "product-c", "product-d", "product-e"} {
		for v := 1; v <= lengths[id]; v++ {
			_, err := env.Pool.Exec(ctx, `INSERT INTO inventory.events (event_id, stream_id, stream_type, version, event_type, data)
				VALUES (gen_random_uuid(), $1, 'Product', $2, $3, $4)`,
				id, v, messages.ProductRestocked{}.EventType(), fmt.Sprintf(`{"productId":%q,"quantity":%d}`, id, v))
			require.NoError(t, err)
			want = append(want, fmt.Sprintf("%s/%d", id, v))
		}
	}
	store := newEventStore(env.Pool, "inventory")
	for _, chunk := range []int{1, 2, 3, 4, 7, 100} {
		var got []string
		// Out of order and with an id that has no stream: the order is the
		// store's, and a missing stream has nothing to read.
		ids := []string{"product-d", "product-missing", "product-a", "product-e", "product-c", "product-b"}
		err := store.read(ctx, ids, chunk, func(e storedEvent) error {
			restocked, ok := e.event.(messages.ProductRestocked)
			require.True(t, ok, "%T", e.event)
			require.Equal(t, e.version, restocked.Quantity, "event %s/%d decoded from another row", e.stream, e.version)
			got = append(got, fmt.Sprintf("%s/%d", e.stream, e.version))
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, want, got, "chunk %d", chunk)
	}
}
