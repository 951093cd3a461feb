package graph_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/systemtest"
	"github.com/orderflow/orderflow/internal/testenv"
)

// These tests drive the API end to end over HTTP against the real servers:
// GraphQL handler -> application -> command handlers, run in the API
// process -> PostgreSQL event stores. A placement starts its order's saga,
// which reserves the stock, but the saga's event handlers do not run here,
// so orders stay PENDING.

type fixture struct {
	endpoint
	env *testenv.Env
	// baseURL is the API server's address.
	baseURL string
	admin   string
}

// setup starts the command handlers on the test's own database and topics
// and serves the GraphQL handler on them at /graphql.
func setup(t *testing.T) *fixture {
	t.Helper()
	return setupWith(t, systemtest.Options{API: true, NoSaga: true})
}

// setupWith runs the system with opts (for instance with the saga, so
// orders move on).
func setupWith(t *testing.T, opts systemtest.Options) *fixture {
	t.Helper()
	sys := systemtest.Start(t, opts)
	env, secret := sys.Env, []byte(sys.Env.Config.JWTSecret)

	f := &fixture{endpoint: endpoint{url: sys.URL + "/graphql", secret: secret}, env: env, baseURL: sys.URL}
	f.admin = f.token(t, "admin-"+uuid.NewString(), auth.RoleAdmin)
	return f
}

// client is gqlgen's test client, sending its requests over HTTP to the
// test server (the client takes a handler, so a forwarder stands in).
func (f *fixture) client(token string) *client.Client {
	opts := []client.Option{client.Path("/graphql")}
	if token != "" {
		opts = append(opts, client.AddHeader("Authorization", "Bearer "+token))
	}
	return client.New(forwarder(f.baseURL), opts...)
}

// forwarder sends each request it is handed to base over the network and
// copies the answer back.
func forwarder(base string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		req, err := http.NewRequestWithContext(r.Context(), r.Method, base+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		req.Header = r.Header.Clone()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		_, _ = io.Copy(w, res.Body)
	})
}

type product struct {
	ID        string `json:"id"`
	Sku       string `json:"sku"`
	Name      string `json:"name"`
	Price     string `json:"price"`
	Available int    `json:"available"`
	Reserved  int    `json:"reserved"`
}

type customer struct {
	ID      string `json:"id"`
	Email   string `json:"email"`
	Name    string `json:"name"`
	Balance string `json:"balance"`
	Held    string `json:"held"`
}

type order struct {
	ID             string      `json:"id"`
	CustomerID     string      `json:"customerId"`
	Status         string      `json:"status"`
	CurrentStep    *string     `json:"currentStep"`
	CompletedSteps []string    `json:"completedSteps"`
	PendingSteps   []string    `json:"pendingSteps"`
	Items          []orderItem `json:"items"`
	TotalAmount    string      `json:"totalAmount"`
	Currency       string      `json:"currency"`
	Failure        *struct {
		Code    string  `json:"code"`
		Message string  `json:"message"`
		Step    *string `json:"step"`
	} `json:"failure"`
	CreatedAt string `json:"createdAt"`
	UpdatedAt string `json:"updatedAt"`
	Version   int    `json:"version"`
}

type orderItem struct {
	ProductID string `json:"productId"`
	Quantity  int    `json:"quantity"`
	UnitPrice string `json:"unitPrice"`
}

type orderEvent struct {
	Type          string  `json:"type"`
	Version       int     `json:"version"`
	OccurredAt    string  `json:"occurredAt"`
	Data          string  `json:"data"`
	CorrelationID *string `json:"correlationId"`
	CausationID   *string `json:"causationId"`
}

const (
	productFields  = `id sku name price available reserved`
	customerFields = `id email name balance held`
	orderFields    = `id customerId status currentStep completedSteps pendingSteps items { productId quantity unitPrice }
		totalAmount currency failure { code message step } createdAt updatedAt version`
)

func (f *fixture) createProduct(t *testing.T, price string, stock int) product {
	t.Helper()
	var resp struct{ CreateProduct product }
	err := f.client(f.admin).Post(`mutation($in: CreateProductInput!) { createProduct(input: $in) { `+productFields+` } }`, &resp,
		client.Var("in", map[string]any{"sku": "SKU-" + uuid.NewString()[:8], "name": "Mug", "price": price, "initialStock": stock}))
	require.NoError(t, err)
	return resp.CreateProduct
}

func (f *fixture) registerCustomer(t *testing.T, credit string) customer {
	t.Helper()
	var resp struct{ RegisterCustomer customer }
	err := f.client(f.admin).Post(`mutation($in: RegisterCustomerInput!) { registerCustomer(input: $in) { `+customerFields+` } }`, &resp,
		client.Var("in", map[string]any{"email": uuid.NewString() + "@example.com", "name": "Ada", "initialCredit": credit}))
	require.NoError(t, err)
	return resp.RegisterCustomer
}

// placeOrderInput is a valid order of the given lines (product id ->
// quantity, in the order given).
func placeOrderInput(key string, lines ...any) map[string]any {
	items := []map[string]any{}
	for i := 0; i+1 < len(lines); i += 2 {
		items = append(items, map[string]any{"productId": lines[i], "quantity": lines[i+1]})
	}
	return map[string]any{
		"idempotencyKey":  key,
		"items":           items,
		"shippingAddress": map[string]any{"street": "1 Main St", "city": "Springfield", "zip": "12345", "country": "US"},
		"paymentMethod":   map[string]any{"type": "card", "token": "tok_4242424242424242"},
	}
}

const placeOrderMutation = `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { sagaId order { ` + orderFields + ` } } }`

type placeOrderPayload struct {
	PlaceOrder struct {
		SagaID string `json:"sagaId"`
		Order  order  `json:"order"`
	}
}

func (f *fixture) placeOrder(t *testing.T, token string, in map[string]any) order {
	t.Helper()
	var resp placeOrderPayload
	require.NoError(t, f.client(token).Post(placeOrderMutation, &resp, client.Var("in", in)))
	require.Equal(t, resp.PlaceOrder.Order.ID, resp.PlaceOrder.SagaID)
	return resp.PlaceOrder.Order
}

func (f *fixture) orderEvents(t *testing.T, token, orderID string) []orderEvent {
	t.Helper()
	var resp struct{ OrderEvents []orderEvent }
	require.NoError(t, f.client(token).Post(`query($id: ID!) { orderEvents(orderId: $id) { type version occurredAt data correlationId causationId } }`,
		&resp, client.Var("id", orderID)))
	return resp.OrderEvents
}

// eventCount counts every event of every context: a refused request must
// leave it unchanged.
func (f *fixture) eventCount(t *testing.T) int {
	t.Helper()
	var n int
	err := f.env.Pool.QueryRow(context.Background(),
		`SELECT (SELECT count(*) FROM ordering.events) + (SELECT count(*) FROM inventory.events) + (SELECT count(*) FROM payments.events)`).Scan(&n)
	require.NoError(t, err)
	return n
}

// awaitReservation waits until the stock of an order is reserved: the
// placement started its saga, which sent ReserveStock; nothing moves the
// order on here.
func (f *fixture) awaitReservation(t *testing.T, orderID string) {
	t.Helper()
	require.Eventually(t, func() bool {
		var n int
		err := f.env.Pool.QueryRow(context.Background(),
			`SELECT count(*) FROM inventory.events WHERE event_type = 'inventory.StockReserved' AND data->>'orderId' = $1`, orderID).Scan(&n)
		require.NoError(t, err)
		return n > 0
	}, 30*time.Second, 10*time.Millisecond, "stock reserved for order %s", orderID)
}

func TestAdminManagesCatalogAndCustomers(t *testing.T) {
	t.Parallel()
	f := setup(t)
	admin := f.client(f.admin)

	p := f.createProduct(t, "29.99", 10)
	require.NotEmpty(t, p.ID)
	require.Equal(t, "29.99", p.Price)
	require.Equal(t, 10, p.Available)
	require.Equal(t, 0, p.Reserved)

	var restocked struct{ RestockProduct product }
	require.NoError(t, admin.Post(`mutation($id: ID!) { restockProduct(productId: $id, quantity: 5) { `+productFields+` } }`, &restocked, client.Var("id", p.ID)))
	require.Equal(t, 15, restocked.RestockProduct.Available)

	// Queries are served by the read model, which follows the writes.
	require.Eventually(t, func() bool {
		var read struct{ Product product }
		err := admin.Post(`query($id: ID!) { product(id: $id) { `+productFields+` } }`, &read, client.Var("id", p.ID))
		return err == nil && read.Product == restocked.RestockProduct
	}, 30*time.Second, 20*time.Millisecond, "the product query shows the restocked product")

	c := f.registerCustomer(t, "100.00")
	require.NotEmpty(t, c.ID)
	require.Equal(t, "100.00", c.Balance)
	require.Equal(t, "0.00", c.Held)

	var funded struct{ AddFunds customer }
	require.NoError(t, admin.Post(`mutation($id: ID!) { addFunds(customerId: $id, amount: "25.50") { `+customerFields+` } }`, &funded, client.Var("id", c.ID)))
	require.Equal(t, "125.50", funded.AddFunds.Balance)

	var account struct{ Customer customer }
	require.Eventually(t, func() bool {
		err := admin.Post(`query($id: ID!) { customer(id: $id) { `+customerFields+` } }`, &account, client.Var("id", c.ID))
		return err == nil && account.Customer == funded.AddFunds
	}, 30*time.Second, 20*time.Millisecond, "the customer query shows the funded account")

	// A customer reads their own account and any product.
	own := f.client(f.token(t, c.ID, auth.RoleCustomer))
	require.NoError(t, own.Post(`query($id: ID!) { customer(id: $id) { `+customerFields+` } }`, &account, client.Var("id", c.ID)))
	require.Equal(t, funded.AddFunds, account.Customer)
	var read struct{ Product product }
	require.NoError(t, own.Post(`query($id: ID!) { product(id: $id) { `+productFields+` } }`, &read, client.Var("id", p.ID)))
	require.Equal(t, p.ID, read.Product.ID)

	t.Run("unknown ids are NOT_FOUND", func(t *testing.T) {
		res := f.post(t, f.admin, `query($id: ID!) { product(id: $id) { id } }`, map[string]any{"id": uuid.NewString()})
		requireCode(t, res, "NOT_FOUND")
		res = f.post(t, f.admin, `query($id: ID!) { customer(id: $id) { id } }`, map[string]any{"id": uuid.NewString()})
		requireCode(t, res, "NOT_FOUND")
	})
}

func TestPlaceOrder(t *testing.T) {
	t.Parallel()
	f := setup(t)
	mug := f.createProduct(t, "29.99", 10)
	tea := f.createProduct(t, "5.50", 10)
	c := f.registerCustomer(t, "500.00")
	token := f.token(t, c.ID, auth.RoleCustomer)

	placed := f.placeOrder(t, token, placeOrderInput("order-1", mug.ID, 2, tea.ID, 3))

	require.Equal(t, "PENDING", placed.Status)
	require.Equal(t, c.ID, placed.CustomerID)
	require.Equal(t, []orderItem{
		{ProductID: mug.ID, Quantity: 2, UnitPrice: "29.99"},
		{ProductID: tea.ID, Quantity: 3, UnitPrice: "5.50"},
	}, placed.Items, "unit prices come from the catalog")
	require.Equal(t, "76.48", placed.TotalAmount)
	require.Equal(t, "USD", placed.Currency)
	require.Equal(t, "ORDER_CREATED", *placed.CurrentStep)
	require.Equal(t, []string{"ORDER_CREATED"}, placed.CompletedSteps)
	require.Equal(t, []string{"INVENTORY_RESERVED", "PAYMENT_AUTHORIZED", "ORDER_CONFIRMED"}, placed.PendingSteps)
	require.Nil(t, placed.Failure)
	require.Equal(t, 1, placed.Version)
	createdAt, err := time.Parse(time.RFC3339Nano, placed.CreatedAt)
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), createdAt, time.Minute)

	var read struct{ Order order }
	require.NoError(t, f.client(token).Post(`query($id: ID!) { order(id: $id, minVersion: 1) { `+orderFields+` } }`, &read, client.Var("id", placed.ID)))
	require.Equal(t, placed, read.Order)

	events := f.orderEvents(t, token, placed.ID)
	require.Len(t, events, 1)
	require.Equal(t, "ordering.OrderPlaced", events[0].Type)
	require.Equal(t, 1, events[0].Version)
	require.NotNil(t, events[0].CorrelationID)
	require.Equal(t, placed.ID, *events[0].CorrelationID)
	require.Contains(t, events[0].Data, "****4242")
	require.NotContains(t, events[0].Data, "tok_4242424242424242", "the raw payment token is never stored")

	t.Run("admin places an order for a customer", func(t *testing.T) {
		in := placeOrderInput("by-admin", mug.ID, 1)
		in["customerId"] = c.ID
		o := f.placeOrder(t, f.admin, in)
		require.Equal(t, c.ID, o.CustomerID)
		require.Equal(t, "29.99", o.TotalAmount)
	})

	t.Run("cancel a pending order", func(t *testing.T) {
		var resp struct{ CancelOrder order }
		require.NoError(t, f.client(token).Post(`mutation($id: ID!) { cancelOrder(orderId: $id, reason: "changed my mind") { `+orderFields+` } }`,
			&resp, client.Var("id", placed.ID)))
		// The saga carries the cancellation out; the request is recorded.
		require.Equal(t, placed.ID, resp.CancelOrder.ID)
		require.Equal(t, 2, resp.CancelOrder.Version)
		require.NotEqual(t, "CONFIRMED", resp.CancelOrder.Status)

		events := f.orderEvents(t, token, placed.ID)
		require.Len(t, events, 2)
		require.Equal(t, "ordering.OrderCancellationRequested", events[1].Type)
		require.Contains(t, events[1].Data, "changed my mind")
	})
}

func TestPlaceOrderIsIdempotentUnderConcurrentRetries(t *testing.T) {
	t.Parallel()
	f := setup(t)
	mug := f.createProduct(t, "12.00", 100)
	c := f.registerCustomer(t, "500.00")
	token := f.token(t, c.ID, auth.RoleCustomer)
	before := f.eventCount(t)

	// The API runs the placement in its own process: the retries race for
	// the order's stream and inbox row, and every one answers from what
	// the handler did or found.
	const retries = 20
	answers := make([]placeOrderPayload, retries)
	var wg sync.WaitGroup
	for i := range retries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.client(token).Post(placeOrderMutation, &answers[i], client.Var("in", placeOrderInput("same-key", mug.ID, 2))); err != nil {
				t.Errorf("retry %d: %v", i, err)
			}
		}()
	}
	wg.Wait()

	first := answers[0].PlaceOrder
	require.NotEmpty(t, first.Order.ID)
	require.Equal(t, "PENDING", first.Order.Status)
	require.Equal(t, 1, first.Order.Version)
	for i, a := range answers {
		require.Equal(t, answers[0], a, "retry %d answers the same order, as recorded", i)
	}
	events := f.orderEvents(t, token, first.Order.ID)
	require.Len(t, events, 1)
	require.Equal(t, "ordering.OrderPlaced", events[0].Type)
	f.awaitReservation(t, first.Order.ID)
	require.Equal(t, before+2, f.eventCount(t), "the order placed once, its stock reserved once")
	var sagas int
	require.NoError(t, f.env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM sagas.order_sagas WHERE order_id = $1`, first.Order.ID).Scan(&sagas))
	require.Equal(t, 1, sagas, "one saga, started with the order")

	// A different key is a different order.
	other := f.placeOrder(t, token, placeOrderInput("another-key", mug.ID, 2))
	require.NotEqual(t, first.Order.ID, other.ID)
}

func TestAuthorization(t *testing.T) {
	t.Parallel()
	f := setup(t)
	mug := f.createProduct(t, "10.00", 10)
	a := f.registerCustomer(t, "100.00")
	b := f.registerCustomer(t, "100.00")
	tokenA := f.token(t, a.ID, auth.RoleCustomer)
	tokenB := f.token(t, b.ID, auth.RoleCustomer)
	orderB := f.placeOrder(t, tokenB, placeOrderInput("b-1", mug.ID, 1))
	f.awaitReservation(t, orderB.ID)
	before := f.eventCount(t)

	orderVars := map[string]any{"id": orderB.ID}
	operations := map[string]struct {
		query string
		vars  map[string]any
	}{
		"product":          {`query { product(id: "` + mug.ID + `") { id } }`, nil},
		"customer":         {`query($id: ID!) { customer(id: $id) { id } }`, map[string]any{"id": b.ID}},
		"order":            {`query($id: ID!) { order(id: $id, minVersion: 1) { id } }`, orderVars},
		"orderEvents":      {`query($id: ID!) { orderEvents(orderId: $id) { type } }`, orderVars},
		"placeOrder":       {placeOrderMutation, map[string]any{"in": placeOrderInput("anon", mug.ID, 1)}},
		"cancelOrder":      {`mutation($id: ID!) { cancelOrder(orderId: $id) { id } }`, orderVars},
		"createProduct":    {`mutation { createProduct(input: {sku: "X", name: "X", price: "1.00", initialStock: 1}) { id } }`, nil},
		"restockProduct":   {`mutation { restockProduct(productId: "` + mug.ID + `", quantity: 1) { id } }`, nil},
		"registerCustomer": {`mutation { registerCustomer(input: {email: "x@example.com", name: "X"}) { id } }`, nil},
		"addFunds":         {`mutation { addFunds(customerId: "` + a.ID + `", amount: "1000.00") { id } }`, nil},
	}

	t.Run("no token", func(t *testing.T) {
		for name, op := range operations {
			res := f.post(t, "", op.query, op.vars)
			requireCode(t, res, "UNAUTHENTICATED")
			require.Equal(t, http.StatusOK, res.Status, name)
		}
	})

	t.Run("customers may not use admin operations", func(t *testing.T) {
		for _, name := range []string{"createProduct", "restockProduct", "registerCustomer", "addFunds"} {
			op := operations[name]
			res := f.post(t, tokenA, op.query, op.vars)
			requireCode(t, res, "FORBIDDEN")
		}
	})

	// Someone else's order or account is NOT_FOUND, never FORBIDDEN, so
	// ids cannot be probed: reads and cancellation alike.
	t.Run("customer A cannot see or touch B's order", func(t *testing.T) {
		for _, name := range []string{"order", "orderEvents", "cancelOrder", "customer"} {
			op := operations[name]
			requireCode(t, f.post(t, tokenA, op.query, op.vars), "NOT_FOUND")
		}
	})

	t.Run("customer A cannot order for B", func(t *testing.T) {
		in := placeOrderInput("for-b", mug.ID, 1)
		in["customerId"] = b.ID
		requireCode(t, f.post(t, tokenA, placeOrderMutation, map[string]any{"in": in}), "FORBIDDEN")
	})

	require.Equal(t, before, f.eventCount(t), "refused requests change nothing")
	var read struct{ Order order }
	require.NoError(t, f.client(f.admin).Post(`query($id: ID!) { order(id: $id, minVersion: 1) { `+orderFields+` } }`, &read, client.Var("id", orderB.ID)))
	require.Equal(t, orderB, read.Order, "B's order is untouched; admins see every order")
}

func TestHostileInputsAreRefusedAndChangeNothing(t *testing.T) {
	t.Parallel()
	f := setup(t)
	mug := f.createProduct(t, "10.00", 10)
	c := f.registerCustomer(t, "100.00")
	token := f.token(t, c.ID, auth.RoleCustomer)
	before := f.eventCount(t)

	withItems := func(items any) map[string]any {
		in := placeOrderInput(uuid.NewString())
		in["items"] = items
		return map[string]any{"in": in}
	}
	manyItems := make([]map[string]any, 10_000)
	for i := range manyItems {
		manyItems[i] = map[string]any{"productId": mug.ID, "quantity": 1}
	}
	blankStreet := placeOrderInput(uuid.NewString(), mug.ID, 1)
	blankStreet["shippingAddress"].(map[string]any)["street"] = " "
	blankKey := placeOrderInput(" ", mug.ID, 1)

	cases := []struct {
		name  string
		token string
		query string
		vars  map[string]any
		code  string
	}{
		{"negative quantity", token, placeOrderMutation, withItems([]any{map[string]any{"productId": mug.ID, "quantity": -1}}), "INVALID_ORDER_DATA"},
		{"zero quantity", token, placeOrderMutation, withItems([]any{map[string]any{"productId": mug.ID, "quantity": 0}}), "INVALID_ORDER_DATA"},
		{"zero items", token, placeOrderMutation, withItems([]any{}), "INVALID_ORDER_DATA"},
		{"10,000 items", token, placeOrderMutation, withItems(manyItems), "INVALID_ORDER_DATA"},
		{"unknown product", token, placeOrderMutation, withItems([]any{map[string]any{"productId": uuid.NewString(), "quantity": 1}}), "INVALID_ORDER_DATA"},
		{"quantity as a string", token, placeOrderMutation, withItems([]any{map[string]any{"productId": mug.ID, "quantity": "1"}}), "INVALID_ORDER_DATA"},
		{"fractional quantity", token, placeOrderMutation, withItems([]any{map[string]any{"productId": mug.ID, "quantity": 1.5}}), "INVALID_ORDER_DATA"},
		{"items not a list of objects", token, placeOrderMutation, withItems("mug"), "INVALID_ORDER_DATA"},
		{"blank street", token, placeOrderMutation, map[string]any{"in": blankStreet}, "INVALID_ORDER_DATA"},
		{"blank idempotency key", token, placeOrderMutation, map[string]any{"in": blankKey}, "INVALID_ORDER_DATA"},
		{"Decimal as a number", f.admin, `mutation($id: ID!) { addFunds(customerId: $id, amount: 10) { id } }`, map[string]any{"id": c.ID}, "INVALID_ORDER_DATA"},
		{"Decimal as a JSON number", f.admin, `mutation($id: ID!, $a: Decimal!) { addFunds(customerId: $id, amount: $a) { id } }`, map[string]any{"id": c.ID, "a": 10.5}, "INVALID_ORDER_DATA"},
		{"Decimal with three digits", f.admin, `mutation($id: ID!) { addFunds(customerId: $id, amount: "1.234") { id } }`, map[string]any{"id": c.ID}, "INVALID_ORDER_DATA"},
		{"negative funds", f.admin, `mutation($id: ID!) { addFunds(customerId: $id, amount: "-5.00") { id } }`, map[string]any{"id": c.ID}, "INVALID_ORDER_DATA"},
		{"negative price", f.admin, `mutation { createProduct(input: {sku: "N", name: "N", price: "-1.00", initialStock: 1}) { id } }`, nil, "INVALID_ORDER_DATA"},
		{"price with three digits", f.admin, `mutation { createProduct(input: {sku: "N", name: "N", price: "1.234", initialStock: 1}) { id } }`, nil, "INVALID_ORDER_DATA"},
		{"restock by a negative amount", f.admin, `mutation($id: ID!) { restockProduct(productId: $id, quantity: -5) { id } }`, map[string]any{"id": mug.ID}, "INVALID_ORDER_DATA"},
		{"unknown field", token, `query($id: ID!) { order(id: $id) { id secretField } }`, map[string]any{"id": uuid.NewString()}, "INVALID_ORDER_DATA"},
		{"deeply nested query", token, strings.Repeat("{ order(id: \"x\") ", 200) + strings.Repeat("}", 200), nil, "INVALID_ORDER_DATA"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := f.post(t, tc.token, tc.query, tc.vars)
			requireCode(t, res, tc.code)
		})
	}

	t.Run("2 MiB body", func(t *testing.T) {
		in := placeOrderInput(uuid.NewString(), mug.ID, 1)
		in["paymentMethod"].(map[string]any)["token"] = strings.Repeat("4", 2<<20)
		res := f.post(t, token, placeOrderMutation, map[string]any{"in": in})
		require.Equal(t, http.StatusRequestEntityTooLarge, res.Status)
		requireCode(t, res, "INVALID_ORDER_DATA")
	})

	require.Equal(t, before, f.eventCount(t), "no refused request recorded anything")
	var state struct {
		Product  product
		Customer customer
	}
	// The read model follows the writes: wait for it to hold both (the
	// event count above says nothing else was written).
	require.Eventually(t, func() bool {
		return f.client(f.admin).Post(fmt.Sprintf(`query { product(id: %q) { %s } customer(id: %q) { %s } }`, mug.ID, productFields, c.ID, customerFields), &state) == nil
	}, 30*time.Second, 20*time.Millisecond, "the read model shows the product and the customer")
	require.Equal(t, mug, state.Product)
	require.Equal(t, c, state.Customer)
	// The orders the refused placements would have had do not exist.
	res := f.post(t, token, `query($id: ID!) { order(id: $id) { id } }`, map[string]any{"id": app.OrderID(c.ID, " ")})
	requireCode(t, res, "NOT_FOUND")
}

// Operators see each projection's index and lag; customers may not.
func TestProjectionStatus(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.createProduct(t, "1.00", 1)

	const q = `query { projectionStatus { name alias index rebuilding lagEvents lagSeconds partitions { partition committed end lag } } }`
	var resp struct {
		ProjectionStatus []struct {
			Name, Alias, Index string
			Rebuilding         bool
			LagEvents          int
			LagSeconds         float64
			Partitions         []struct{ Partition, Committed, End, Lag int }
		}
	}
	require.Eventually(t, func() bool {
		require.NoError(t, f.client(f.admin).Post(q, &resp))
		total := 0
		for _, st := range resp.ProjectionStatus {
			total += st.LagEvents
		}
		return len(resp.ProjectionStatus) == 3 && total == 0
	}, 30*time.Second, 100*time.Millisecond, "the projections catch up and say so")
	for _, st := range resp.ProjectionStatus {
		require.Contains(t, []string{"orders", "products", "customers"}, st.Name)
		require.NotEmpty(t, st.Index)
		require.False(t, st.Rebuilding)
		require.NotEmpty(t, st.Partitions)
	}

	customer := f.registerCustomer(t, "1.00")
	requireCode(t, f.post(t, f.token(t, customer.ID, auth.RoleCustomer), q, nil), "FORBIDDEN")
}
