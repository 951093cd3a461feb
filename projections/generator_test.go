package projections_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// synthetic describes generated history: orders spread over customers
// and products, every fifth one cancelled for INVENTORY_UNAVAILABLE
// (OrderPlaced, OrderCancelled), the others confirmed (OrderPlaced, two
// OrderStepCompleted, OrderConfirmed). Events of 64 orders at a time are
// interleaved in position order, as concurrent orders are.
type synthetic struct {
	prefix    string
	orders    int
	customers int
	products  int
}

// events is how many order events the history holds.
func (s synthetic) events() int {
	cancelled := (s.orders + 4) / 5
	return cancelled*2 + (s.orders-cancelled)*4
}

func (s synthetic) orderID(i int) string { return fmt.Sprintf("%s-order-%d", s.prefix, i) }

// generate inserts the history straight into the event store tables with
// SQL, in chunks, fast enough for a million events: valid payloads that
// messages.DecodeEvent reads, as the command side would have written them.
func (s synthetic) generate(t testing.TB, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := pool.Exec(ctx, `INSERT INTO payments.events (event_id, stream_id, stream_type, version, event_type, data, created_at)
		SELECT gen_random_uuid(), $1 || '-customer-' || c, 'Customer', 1, 'payments.CustomerRegistered',
			jsonb_build_object('customerId', $1 || '-customer-' || c, 'email', 'customer' || c || '@' || $1 || '.example.com',
				'name', 'Customer ' || c, 'initialCredit', 1000000),
			$2::timestamptz
		FROM generate_series(0, $3 - 1) c`, s.prefix, base, s.customers)
	require.NoError(t, err)

	const chunk = 25000
	for lo := 0; lo < s.orders; lo += chunk {
		hi := min(lo+chunk, s.orders)
		_, err := pool.Exec(ctx, `
		WITH o AS (
			SELECT i, $1 || '-order-' || i AS id, $1 || '-customer-' || (i % $4) AS customer, i % 5 = 0 AS cancelled,
				$5::timestamptz + i * interval '1 millisecond' AS at, i % $6 AS product, 1 + i % 3 AS qty, 100 + (i % $6) * 25 AS price
			FROM generate_series($2::int, $3::int - 1) i
		), ts AS (
			SELECT o.*, to_char((o.at + v * interval '100 microseconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS stamp, v AS version
			FROM o CROSS JOIN generate_series(1, 4) v
			WHERE NOT o.cancelled OR v <= 2
		)
		INSERT INTO ordering.events (event_id, stream_id, stream_type, version, event_type, data, correlation_id, created_at)
		SELECT gen_random_uuid(), id, 'Order', version,
			CASE
				WHEN version = 1 THEN 'ordering.OrderPlaced'
				WHEN cancelled THEN 'ordering.OrderCancelled'
				WHEN version = 4 THEN 'ordering.OrderConfirmed'
				ELSE 'ordering.OrderStepCompleted'
			END,
			CASE
				WHEN version = 1 THEN jsonb_build_object(
					'orderId', id, 'customerId', customer, 'currency', 'USD', 'total', qty * price, 'placedAt', stamp,
					'items', jsonb_build_array(jsonb_build_object('productId', $1 || '-product-' || product,
						'productName', 'Product ' || product, 'sku', 'SKU-' || product, 'quantity', qty, 'unitPrice', price)),
					'shippingAddress', jsonb_build_object('street', '1 Main St', 'city', 'Springfield', 'zip', '12345', 'country', 'US'),
					'billingAddress', jsonb_build_object('street', '1 Main St', 'city', 'Springfield', 'zip', '12345', 'country', 'US'),
					'paymentMethod', jsonb_build_object('type', 'card', 'token', '****4242'))
				WHEN cancelled THEN jsonb_build_object('orderId', id, 'code', 'INVENTORY_UNAVAILABLE',
					'message', 'not enough stock', 'step', 'ORDER_CREATED', 'at', stamp)
				WHEN version = 4 THEN jsonb_build_object('orderId', id, 'at', stamp)
				ELSE jsonb_build_object('orderId', id, 'at', stamp,
					'step', CASE version WHEN 2 THEN 'INVENTORY_RESERVED' ELSE 'PAYMENT_AUTHORIZED' END)
			END,
			id, at + version * interval '100 microseconds'
		FROM ts
		ORDER BY i / 64, version, i`, s.prefix, lo, hi, s.customers, base, s.products)
		require.NoError(t, err)
	}
}
