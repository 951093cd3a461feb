package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/systemtest"
	"github.com/orderflow/orderflow/internal/testenv"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/query"
)

func placement(customerID, productID, key string) app.PlaceOrder {
	return app.PlaceOrder{
		CustomerID:      customerID,
		IdempotencyKey:  key,
		Items:           []app.OrderItem{{ProductID: productID, Quantity: 2}},
		ShippingAddress: messages.Address{Street: "1 Main St", City: "Springfield", Zip: "12345", Country: "US"},
		PaymentMethod:   messages.PaymentMethod{Type: "card", Token: "tok_4242"},
	}
}

// withCatalog starts a system without worker or projector, with one
// product and one funded customer.
func withCatalog(t *testing.T) (*systemtest.System, query.Product, query.Customer) {
	t.Helper()
	sys := systemtest.Start(t, systemtest.Options{NoWorker: true, NoProjector: true})
	ctx := context.Background()
	p, err := sys.App.Commands.CreateProduct.Handle(ctx, systemtest.Admin, app.CreateProduct{SKU: "MUG", Name: "Mug", Price: 1250, InitialStock: 10})
	require.NoError(t, err)
	c, err := sys.App.Commands.RegisterCustomer.Handle(ctx, systemtest.Admin, app.RegisterCustomer{Email: "a@example.com", Name: "A", InitialCredit: 10000})
	require.NoError(t, err)
	return sys, p, c
}

// apiBehindProxy opens a second API process that reaches PostgreSQL
// through a fault proxy, its catalog warmed by one placement, so a
// placement's only writes are its own. Its pool holds one connection, so
// the statements the warm-up prepared are the ones the next placement
// finds (with more, it could run on a connection that still has to
// prepare its COMMIT, and the name would go out in the Parse, before it).
func apiBehindProxy(t *testing.T, sys *systemtest.System, p query.Product, c query.Customer) (app.Application, *testenv.Proxy) {
	t.Helper()
	ctx := context.Background()
	u, err := url.Parse(sys.Env.Config.PostgresURL)
	require.NoError(t, err)
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	q := u.Query()
	q.Set("pool_max_conns", "1")
	u.RawQuery = q.Encode()
	cfg := sys.Env.Config
	cfg.PostgresURL = u.String()
	svc, err := service.Open(ctx, cfg, sys.Env.Logger)
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	projector, err := svc.NewProjector()
	require.NoError(t, err)
	saga, err := svc.OpenSagas()
	require.NoError(t, err)
	api := svc.Application(saga, projector, nil)
	_, err = api.Commands.PlaceOrder.Handle(ctx, systemtest.Admin, placement(c.ID, p.ID, "warm-up"))
	require.NoError(t, err)
	return api, proxy
}

// An API process whose connection to PostgreSQL breaks after the commit
// was sent, before its answer came back: the order is placed, and the
// client must not be told a plain INTERNAL (which reads as "not placed")
// but that the outcome is unknown and to retry with the same key, which
// then answers with the order.
func TestPlacementWhoseCommitIsUnconfirmedSaysOutcomeUnknown(t *testing.T) {
	t.Parallel()
	sys, p, c := withCatalog(t)
	ctx := context.Background()
	api, proxy := apiBehindProxy(t, sys, p, c)

	// The placement's COMMIT travels with its last write, the saga row
	// (postgres.ExecAtCommit), as a statement prepared on the connection
	// by the warm-up placement: on the wire it is named, not spelled out.
	proxy.DropAfter([]byte(preparedName("commit")))
	_, err := api.Commands.PlaceOrder.Handle(ctx, systemtest.Admin, placement(c.ID, p.ID, "k-1"))
	require.Equal(t, 1, proxy.Dropped(), "the commit was cut off")
	require.Error(t, err)
	require.True(t, errcode.IsRetryable(err), "the client is told to retry: %v", err)
	var coded *errcode.Error
	require.ErrorAs(t, err, &coded)
	require.Equal(t, app.OutcomeUnknown, coded.Details[app.OutcomeDetail], "%v", err)
	require.Contains(t, coded.Message, "same idempotencyKey")

	// The commit did happen: the retry answers with the order, once.
	require.Eventually(t, func() bool {
		var committed int
		require.NoError(t, sys.Env.Pool.QueryRow(ctx, `SELECT count(*) FROM ordering.events WHERE stream_id = $1`, app.OrderID(c.ID, "k-1")).Scan(&committed))
		return committed > 0
	}, 10*time.Second, 20*time.Millisecond, "the connection broke after the commit was sent, not before")
	again, err := api.Commands.PlaceOrder.Handle(ctx, systemtest.Admin, placement(c.ID, p.ID, "k-1"))
	require.NoError(t, err)
	require.Equal(t, app.OrderID(c.ID, "k-1"), again.ID)
	var placed int
	require.NoError(t, sys.Env.Pool.QueryRow(ctx, `SELECT count(*) FROM ordering.events WHERE stream_id = $1 AND event_type = 'ordering.OrderPlaced'`, again.ID).Scan(&placed))
	require.Equal(t, 1, placed)
}

// preparedName is the name pgx gives the prepared statement of sql on
// every connection (its statement cache: "stmtcache_" and the first 24
// bytes of the SQL's SHA-256 in hex), which is what a cached statement's
// execution carries on the wire instead of its text.
func preparedName(sql string) string {
	digest := sha256.Sum256([]byte(sql))
	return "stmtcache_" + hex.EncodeToString(digest[:24])
}

// A PostgreSQL that cannot be reached before anything is written is
// answered as retryable with nothing recorded.
func TestPlacementWithoutDatabaseSaysNothingRecorded(t *testing.T) {
	t.Parallel()
	sys, p, c := withCatalog(t)
	ctx := context.Background()
	api, proxy := apiBehindProxy(t, sys, p, c)

	proxy.Cut()
	_, err := api.Commands.PlaceOrder.Handle(ctx, systemtest.Admin, placement(c.ID, p.ID, "k-2"))
	require.True(t, errcode.IsRetryable(err), "got %v", err)
	var coded *errcode.Error
	require.ErrorAs(t, err, &coded)
	require.Contains(t, []any{app.OutcomeNotRecorded, app.OutcomeUnknown}, coded.Details[app.OutcomeDetail], "%v", err)
}

// A retried cancelOrder is the same message: the inbox recognises it and
// it answers with the order, recorded once.
func TestRetriedCancellationIsRecognisedByTheInbox(t *testing.T) {
	t.Parallel()
	sys, p, c := withCatalog(t)
	ctx := context.Background()
	o, err := sys.App.Commands.PlaceOrder.Handle(ctx, systemtest.Admin, placement(c.ID, p.ID, "k-3"))
	require.NoError(t, err)

	first, err := sys.App.Commands.CancelOrder.Handle(ctx, systemtest.Admin, o.ID, "changed my mind")
	require.NoError(t, err)
	second, err := sys.App.Commands.CancelOrder.Handle(ctx, systemtest.Admin, o.ID, "changed my mind")
	require.NoError(t, err)
	require.Equal(t, first.Status, second.Status)

	var handled int
	require.NoError(t, sys.Env.Pool.QueryRow(ctx, `SELECT count(*) FROM ordering.inbox WHERE handler = 'ordering.cancel-order' AND stream_id = $1`, o.ID).Scan(&handled))
	require.Equal(t, 1, handled, "the retry is the same message")
	var requested int
	require.NoError(t, sys.Env.Pool.QueryRow(ctx, `SELECT count(*) FROM ordering.events WHERE stream_id = $1 AND event_type = 'ordering.OrderCancellationRequested'`, o.ID).Scan(&requested))
	require.Equal(t, 1, requested)
}
