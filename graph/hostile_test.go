package graph_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/graph"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/systemtest"
)

// TestHostileInput sends what a hostile client would through the public
// GraphQL API of a whole running orderflow (saga and projector included).
// Every request must be refused with a contract code, an HTTP status below
// 500 and no event recorded anywhere; afterwards orders still confirm and
// every read model still follows its writes.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	f := setupWith(t, systemtest.Options{API: true})

	mug := f.createProduct(t, "12.50", 100)
	c := f.registerCustomer(t, "1000.00")
	other := f.registerCustomer(t, "10.00")
	me := f.token(t, c.ID, auth.RoleCustomer)

	megabyte := strings.Repeat("x", 1_000_000)
	kilobytes := strings.Repeat("y", 4096)

	// validOrder is a valid placement input that edit changes one part of.
	validOrder := func(edit func(in map[string]any)) map[string]any {
		in := placeOrderInput("hostile-"+uuid.NewString(), mug.ID, 1)
		edit(in)
		return in
	}
	address := func(in map[string]any) map[string]any { return in["shippingAddress"].(map[string]any) }
	items := func(in map[string]any) []map[string]any { return in["items"].([]map[string]any) }

	type request struct {
		name  string
		token string
		query string
		vars  map[string]any
		code  string
	}
	place := func(name string, edit func(in map[string]any)) request {
		return request{name: name, token: me, query: placeOrderMutation, vars: map[string]any{"in": validOrder(edit)}, code: "INVALID_ORDER_DATA"}
	}
	createProduct := func(name string, in map[string]any) request {
		base := map[string]any{"sku": "SKU-" + uuid.NewString()[:8], "name": "Mug", "price": "1.00", "initialStock": 1}
		for k, v := range in {
			base[k] = v
		}
		return request{name: name, token: f.admin, query: `mutation($in: CreateProductInput!) { createProduct(input: $in) { id } }`,
			vars: map[string]any{"in": base}, code: "INVALID_ORDER_DATA"}
	}
	registerCustomer := func(name string, in map[string]any) request {
		base := map[string]any{"email": uuid.NewString() + "@example.com", "name": "Ada", "initialCredit": "1.00"}
		for k, v := range in {
			base[k] = v
		}
		return request{name: name, token: f.admin, query: `mutation($in: RegisterCustomerInput!) { registerCustomer(input: $in) { id } }`,
			vars: map[string]any{"in": base}, code: "INVALID_ORDER_DATA"}
	}
	restock := func(name string, quantity any) request {
		return request{name: name, token: f.admin, query: `mutation($id: ID!, $q: Int!) { restockProduct(productId: $id, quantity: $q) { id } }`,
			vars: map[string]any{"id": mug.ID, "q": quantity}, code: "INVALID_ORDER_DATA"}
	}
	addFunds := func(name string, amount any) request {
		return request{name: name, token: f.admin, query: `mutation($id: ID!, $a: Decimal!) { addFunds(customerId: $id, amount: $a) { id } }`,
			vars: map[string]any{"id": c.ID, "a": amount}, code: "INVALID_ORDER_DATA"}
	}
	manyLines := func(in map[string]any) {
		lines := make([]map[string]any, 1000)
		for i := range lines {
			lines[i] = map[string]any{"productId": uuid.NewString(), "quantity": 1}
		}
		in["items"] = lines
	}

	cases := []request{
		// The outage of issue 11: a 1 MB street made an event Kafka refuses.
		place("1 MB street", func(in map[string]any) { address(in)["street"] = megabyte }),
		place("4 KB street", func(in map[string]any) { address(in)["street"] = kilobytes }),
		place("empty street", func(in map[string]any) { address(in)["street"] = "" }),
		place("whitespace street", func(in map[string]any) { address(in)["street"] = " \t\n " }),
		place("control characters in street", func(in map[string]any) { address(in)["street"] = "1 Main\x00St" }),
		place("1 MB city", func(in map[string]any) { address(in)["city"] = megabyte }),
		place("4 KB zip", func(in map[string]any) { address(in)["zip"] = kilobytes }),
		place("4 KB country", func(in map[string]any) { address(in)["country"] = kilobytes }),
		place("4 KB state", func(in map[string]any) { address(in)["state"] = kilobytes }),
		place("4 KB billing street", func(in map[string]any) {
			in["billingAddress"] = map[string]any{"street": kilobytes, "city": "Springfield", "zip": "12345", "country": "US"}
		}),
		place("1 MB payment token", func(in map[string]any) { in["paymentMethod"].(map[string]any)["token"] = megabyte }),
		place("4 KB payment type", func(in map[string]any) { in["paymentMethod"].(map[string]any)["type"] = kilobytes }),
		place("empty payment type", func(in map[string]any) { in["paymentMethod"].(map[string]any)["type"] = "" }),
		place("empty idempotency key", func(in map[string]any) { in["idempotencyKey"] = "" }),
		place("4 KB idempotency key", func(in map[string]any) { in["idempotencyKey"] = kilobytes }),
		place("no lines", func(in map[string]any) { in["items"] = []map[string]any{} }),
		place("1000 lines", manyLines),
		place("quantity zero", func(in map[string]any) { items(in)[0]["quantity"] = 0 }),
		place("negative quantity", func(in map[string]any) { items(in)[0]["quantity"] = -1 }),
		place("quantity 2147483647", func(in map[string]any) { items(in)[0]["quantity"] = 2147483647 }),
		place("quantity beyond Int", func(in map[string]any) { items(in)[0]["quantity"] = int64(1) << 40 }),
		place("fractional quantity", func(in map[string]any) { items(in)[0]["quantity"] = 1.5 }),
		place("quantity as a string", func(in map[string]any) { items(in)[0]["quantity"] = "1" }),
		place("two lines of one product", func(in map[string]any) {
			in["items"] = []map[string]any{{"productId": mug.ID, "quantity": 1}, {"productId": mug.ID, "quantity": 2}}
		}),
		place("unknown product", func(in map[string]any) { items(in)[0]["productId"] = uuid.NewString() }),
		place("4 KB product id", func(in map[string]any) { items(in)[0]["productId"] = kilobytes }),
		{name: "order for another customer", token: me, query: placeOrderMutation, code: "FORBIDDEN",
			vars: map[string]any{"in": validOrder(func(in map[string]any) { in["customerId"] = other.ID })}},

		createProduct("1 MB sku", map[string]any{"sku": megabyte}),
		createProduct("empty sku", map[string]any{"sku": ""}),
		createProduct("whitespace sku", map[string]any{"sku": "   "}),
		createProduct("1 MB name", map[string]any{"name": megabyte}),
		createProduct("control characters in name", map[string]any{"name": "Mug\x07"}),
		createProduct("negative stock", map[string]any{"initialStock": -1}),
		createProduct("stock beyond Int", map[string]any{"initialStock": int64(1) << 40}),
		createProduct("price NaN", map[string]any{"price": "NaN"}),
		createProduct("price with exponent", map[string]any{"price": "1e3"}),
		createProduct("negative price", map[string]any{"price": "-1.00"}),
		createProduct("zero price", map[string]any{"price": "0.00"}),
		createProduct("price with three decimals", map[string]any{"price": "1.005"}),
		createProduct("huge price", map[string]any{"price": "99999999999999999999999.00"}),
		createProduct("price as a number", map[string]any{"price": 12.5}),

		restock("restock to beyond Int", 2147483647),
		restock("restock zero", 0),
		restock("restock negative", -5),

		registerCustomer("1 MB email", map[string]any{"email": megabyte + "@example.com"}),
		registerCustomer("email without @", map[string]any{"email": "ada.example.com"}),
		registerCustomer("empty name", map[string]any{"name": ""}),
		registerCustomer("1 MB name", map[string]any{"name": megabyte}),
		registerCustomer("negative credit", map[string]any{"initialCredit": "-5.00"}),
		registerCustomer("credit with exponent", map[string]any{"initialCredit": "1e400"}),
		registerCustomer("credit with three decimals", map[string]any{"initialCredit": "0.001"}),

		addFunds("funds zero", "0.00"),
		addFunds("funds negative", "-1.00"),
		addFunds("funds NaN", "NaN"),
		addFunds("funds beyond the maximum", "99999999999999999999999.00"),

		{name: "1 MB cancellation reason", token: me, code: "INVALID_ORDER_DATA",
			query: `mutation($id: ID!, $r: String) { cancelOrder(orderId: $id, reason: $r) { id } }`,
			vars:  map[string]any{"id": uuid.NewString(), "r": megabyte}},

		{name: "deep introspection", token: me, code: "INVALID_ORDER_DATA",
			query: `{ __type(name: "Order") { ` + strings.Repeat("ofType { ", 50) + "name" + strings.Repeat(" }", 50) + ` } }`},
		{name: "deep data", token: me, code: "INVALID_ORDER_DATA",
			query: `{ order(id: "x") { ` + strings.Repeat("items { ", 30) + "productId" + strings.Repeat(" }", 30) + ` } }`},
		{name: "wide query", token: me, code: "INVALID_ORDER_DATA", query: wideQuery(2000)},
		{name: "search text of 1 MB", token: f.admin, code: "INVALID_ORDER_DATA",
			query: `query($t: String) { searchOrders(filter: {text: $t}) { total } }`, vars: map[string]any{"t": megabyte}},
		{name: "cursor of 100 KB", token: f.admin, code: "INVALID_ORDER_DATA",
			query: `query($a: String) { searchOrders(after: $a) { total } }`, vars: map[string]any{"a": strings.Repeat("A", 100_000)}},
		{name: "order id of 1 MB", token: me, code: "INVALID_ORDER_DATA",
			query: `query($id: ID!) { order(id: $id) { id } }`, vars: map[string]any{"id": megabyte}},
		{name: "product id of 4 KB", token: me, code: "INVALID_ORDER_DATA",
			query: `query($id: ID!) { product(id: $id) { id } }`, vars: map[string]any{"id": kilobytes}},
		{name: "order events of a 4 KB id", token: me, code: "INVALID_ORDER_DATA",
			query: `query($id: ID!) { orderEvents(orderId: $id) { type } }`, vars: map[string]any{"id": kilobytes}},
		{name: "negative page size", token: f.admin, code: "INVALID_ORDER_DATA",
			query: `{ searchOrders(first: -1) { total } }`},
		{name: "customer searches every order", token: me, code: "FORBIDDEN",
			query: `{ searchOrders { total } }`},

		{name: "unknown role", token: rawToken(t, f.secret, c.ID, "superuser"), code: "UNAUTHENTICATED",
			query: `query($id: ID!) { customer(id: $id) { id } }`, vars: map[string]any{"id": c.ID}},
		{name: "unknown role beside customer", token: rawToken(t, f.secret, c.ID, "customer", "superuser"), code: "UNAUTHENTICATED",
			query: `query($id: ID!) { customer(id: $id) { id } }`, vars: map[string]any{"id": c.ID}},
		{name: "no role", token: rawToken(t, f.secret, c.ID), code: "UNAUTHENTICATED",
			query: `query($id: ID!) { customer(id: $id) { id } }`, vars: map[string]any{"id": c.ID}},
		{name: "customer sub not an id", token: rawToken(t, f.secret, "../"+c.ID, "customer"), code: "UNAUTHENTICATED",
			query: placeOrderMutation, vars: map[string]any{"in": validOrder(func(map[string]any) {})}},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := f.eventCount(t)
			res := f.post(t, tc.token, tc.query, tc.vars)
			require.Less(t, res.Status, 500, "HTTP status")
			requireCode(t, res, tc.code)
			require.Equal(t, before, f.eventCount(t), "a refused request records nothing")
		})
	}

	t.Run("batched operations", func(t *testing.T) {
		body, err := json.Marshal([]map[string]any{{"query": "{ __typename }"}, {"query": "{ __typename }"}})
		require.NoError(t, err)
		res := f.postRaw(t, me, "application/json", body)
		require.Less(t, res.Status, 500)
		requireCode(t, res, "INVALID_ORDER_DATA")
	})

	// Afterwards everything still flows: an order confirms, and the
	// product and customer read models follow their writes.
	placed := f.placeOrder(t, me, placeOrderInput("after-the-storm", mug.ID, 2))
	require.Eventually(t, func() bool {
		var read struct{ Order order }
		err := f.client(me).Post(`query($id: ID!) { order(id: $id) { `+orderFields+` } }`, &read, client.Var("id", placed.ID))
		return err == nil && read.Order.Status == "CONFIRMED"
	}, 30*time.Second, 50*time.Millisecond, "a normal order confirms after the hostile requests")

	var restocked struct{ RestockProduct product }
	require.NoError(t, f.client(f.admin).Post(`mutation($id: ID!) { restockProduct(productId: $id, quantity: 7) { `+productFields+` } }`,
		&restocked, client.Var("id", mug.ID)))
	require.Equal(t, 100-2+7, restocked.RestockProduct.Available)
	require.Eventually(t, func() bool {
		var read struct{ Product product }
		err := f.client(f.admin).Post(`query($id: ID!) { product(id: $id) { `+productFields+` } }`, &read, client.Var("id", mug.ID))
		return err == nil && read.Product.Available == 105 && read.Product.Reserved == 0
	}, 30*time.Second, 50*time.Millisecond, "the product read model follows the restock")
	require.Eventually(t, func() bool {
		var read struct{ Customer customer }
		err := f.client(me).Post(`query($id: ID!) { customer(id: $id) { `+customerFields+` } }`, &read, client.Var("id", c.ID))
		return err == nil && read.Customer.Balance == "975.00" && read.Customer.Held == "0.00"
	}, 30*time.Second, 50*time.Millisecond, "the customer read model follows the capture")
}

// wideQuery asks for the same cheap field n times under aliases.
func wideQuery(n int) string {
	var b strings.Builder
	b.WriteString("{ ")
	for i := range n {
		b.WriteString("a")
		b.WriteString(strings.Repeat("b", i%7+1))
		b.WriteString(uuid.NewString()[:4])
		b.WriteString(": __typename ")
	}
	b.WriteString("}")
	return b.String()
}

// rawToken signs a token with any roles, including ones auth.Issue
// refuses to mint.
func rawToken(t *testing.T, secret []byte, subject string, roles ...string) string {
	t.Helper()
	now := time.Now()
	claims := jwt.MapClaims{"sub": subject, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	if roles != nil {
		claims["roles"] = roles
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	require.NoError(t, err)
	return tok
}

// A websocket client cannot make the server read a huge message into
// memory, nor run unbounded subscriptions on one connection.
func TestWebsocketLimits(t *testing.T) {
	t.Parallel()
	f := setup(t) // no saga: orders stay PENDING, their subscriptions open
	mug := f.createProduct(t, "5.00", 10)
	c := f.registerCustomer(t, "100.00")
	token := f.token(t, c.ID, auth.RoleCustomer)
	o := f.placeOrder(t, token, placeOrderInput("ws-limits", mug.ID, 1))

	t.Run("a message beyond 64 KiB closes the connection with 1009", func(t *testing.T) {
		ws := dialWS(t, f.baseURL, "graphql-transport-ws", token)
		ws.subscribe("big", statusSubscription, map[string]any{"id": o.ID, "padding": strings.Repeat("x", 100_000)})
		require.NoError(t, ws.conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		for {
			_, _, err := ws.conn.ReadMessage()
			if err == nil {
				continue // a keep-alive
			}
			var closeErr *websocket.CloseError
			require.ErrorAs(t, err, &closeErr)
			require.Equal(t, websocket.CloseMessageTooBig, closeErr.Code)
			return
		}
	})

	t.Run("subscriptions per connection are bounded", func(t *testing.T) {
		ws := dialWS(t, f.baseURL, "graphql-transport-ws", token)
		for i := range graph.MaxSubscriptionsPerConnection {
			ws.subscribe(fmt.Sprint(i), statusSubscription, map[string]any{"id": o.ID})
		}
		for first := 0; first < graph.MaxSubscriptionsPerConnection; {
			if m := ws.read(); m.Type == "next" {
				first++
			}
		}
		ws.subscribe("one-too-many", statusSubscription, map[string]any{"id": o.ID})
		for {
			m := ws.read()
			if m.ID != "one-too-many" {
				continue
			}
			require.Contains(t, []string{"error", "next"}, m.Type, string(m.Payload))
			require.Contains(t, string(m.Payload), `"code":"INVALID_ORDER_DATA"`)
			require.NotContains(t, string(m.Payload), `"status"`)
			break
		}
		// Ending one frees its slot.
		ws.send(map[string]any{"id": "0", "type": "complete"})
		require.Eventually(t, func() bool {
			id := "retry-" + uuid.NewString()
			ws.subscribe(id, statusSubscription, map[string]any{"id": o.ID})
			for {
				m := ws.read()
				if m.ID == id {
					return m.Type == "next" && strings.Contains(string(m.Payload), `"status":"PENDING"`)
				}
			}
		}, 10*time.Second, 100*time.Millisecond)
	})
}
