package graph_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/graph"
	"github.com/orderflow/orderflow/internal/auth"
)

// These tests need no servers: everything they check happens before the
// application is called, or the application is the zero value, whose
// handlers panic when reached (which the panic test relies on).

// gqlResponse is a GraphQL answer as it crosses the wire.
type gqlResponse struct {
	Status    int
	RequestID string
	Data      json.RawMessage `json:"data"`
	Errors    []gqlError      `json:"errors"`
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// endpoint is a GraphQL handler served over real HTTP.
type endpoint struct {
	url    string
	secret []byte
}

// post sends one GraphQL request over HTTP; token may be empty.
func (e endpoint) post(t *testing.T, token, query string, vars map[string]any) gqlResponse {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	return e.postRaw(t, token, "application/json", body)
}

func (e endpoint) postRaw(t *testing.T, token, contentType string, body []byte) gqlResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	out := gqlResponse{Status: res.StatusCode, RequestID: res.Header.Get(graph.RequestIDHeader)}
	require.NoError(t, json.Unmarshal(raw, &out), "body: %s", raw)
	return out
}

func (e endpoint) token(t *testing.T, subject string, role auth.Role) string {
	t.Helper()
	tok, err := auth.Issue(e.secret, subject, time.Hour, role)
	require.NoError(t, err)
	return tok
}

// requireCode checks that the response has exactly one error, with code,
// and the request id of the response in its extensions.
func requireCode(t *testing.T, res gqlResponse, code string) gqlError {
	t.Helper()
	require.Len(t, res.Errors, 1, "errors: %+v", res.Errors)
	e := res.Errors[0]
	require.Equal(t, code, e.Extensions["code"], "error: %+v", e)
	require.NotEmpty(t, res.RequestID)
	require.Equal(t, res.RequestID, e.Extensions["requestId"])
	return e
}

// lockedBuffer collects log output written from handler goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// setupOffline serves a handler over the zero Application.
func setupOffline(t *testing.T, opts graph.HandlerOptions) (endpoint, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	opts.JWTSecret = []byte("offline-test-secret")
	h := graph.NewHandler(graph.NewResolver(app.Application{}, slog.New(slog.NewTextHandler(logs, nil))), opts)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return endpoint{url: srv.URL, secret: opts.JWTSecret}, logs
}

func TestPanicInResolverBecomesInternalError(t *testing.T) {
	t.Parallel()
	e, logs := setupOffline(t, graph.HandlerOptions{})

	// The zero Application dereferences nil once past authentication.
	res := e.post(t, e.token(t, "admin-1", auth.RoleAdmin), `query { product(id: "p1") { id } }`, nil)

	require.Equal(t, http.StatusOK, res.Status, "a panic is a field error, not a 500")
	got := requireCode(t, res, "INTERNAL")
	require.Equal(t, "internal error", got.Message)
	require.Len(t, got.Extensions, 2, "no details beyond code and requestId: %v", got.Extensions)
	require.Contains(t, logs.String(), res.RequestID, "the log names the request")
	require.Contains(t, logs.String(), "panic")
}

func TestRequestErrorsCarryAContractCode(t *testing.T) {
	t.Parallel()
	e, _ := setupOffline(t, graph.HandlerOptions{})
	admin := e.token(t, "admin-1", auth.RoleAdmin)

	deep := strings.Repeat("{ order(id: \"x\") ", 50) + strings.Repeat("}", 50)
	cases := []struct {
		name   string
		query  string
		vars   map[string]any
		reason string
	}{
		{"unknown field", `query { product(id: "p") { id colour } }`, nil, "GRAPHQL_VALIDATION_FAILED"},
		{"unknown argument", `query { product(id: "p", colour: "red") { id } }`, nil, "GRAPHQL_VALIDATION_FAILED"},
		{"parse error", `query { product(id: "p") { id `, nil, "GRAPHQL_PARSE_FAILED"},
		{"string literal for Int", `mutation { restockProduct(productId: "p", quantity: "two") { id } }`, nil, "GRAPHQL_VALIDATION_FAILED"},
		{"string variable for Int", `mutation($q: Int!) { restockProduct(productId: "p", quantity: $q) { id } }`, map[string]any{"q": "two"}, "GRAPHQL_VALIDATION_FAILED"},
		{"missing required input field", `mutation($in: CreateProductInput!) { createProduct(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"sku": "S", "name": "N", "price": "1.00"}}, "GRAPHQL_VALIDATION_FAILED"},
		{"unknown input field", `mutation($in: CreateProductInput!) { createProduct(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"sku": "S", "name": "N", "price": "1.00", "initialStock": 1, "cost": "0.10"}}, "GRAPHQL_VALIDATION_FAILED"},
		{"deeply nested garbage", deep, nil, "GRAPHQL_VALIDATION_FAILED"},
		{"too many tokens", "query { " + strings.Repeat("__typename ", 20_000) + "}", nil, "GRAPHQL_PARSE_FAILED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := e.post(t, admin, tc.query, tc.vars)
			got := requireCode(t, res, "INVALID_ORDER_DATA")
			require.Equal(t, tc.reason, got.Extensions["reason"])
			require.Equal(t, http.StatusUnprocessableEntity, res.Status)
		})
	}
}

func TestDecimalArgumentsAreStrictStrings(t *testing.T) {
	t.Parallel()
	e, _ := setupOffline(t, graph.HandlerOptions{})
	admin := e.token(t, "admin-1", auth.RoleAdmin)
	const addFunds = `mutation($amount: Decimal!) { addFunds(customerId: "c1", amount: $amount) { id } }`

	for name, amount := range map[string]any{
		"number":              29.99,
		"integer":             10,
		"three decimals":      "1.234",
		"exponent":            "1e3",
		"empty":               "",
		"comma":               "1,00",
		"object":              map[string]any{"cents": 100},
		"leading point":       ".5",
		"number out of range": "999999999999999999999.00",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// The argument is refused before the resolver runs, so the zero
			// Application is never reached (it would panic: INTERNAL).
			res := e.post(t, admin, addFunds, map[string]any{"amount": amount})
			got := requireCode(t, res, "INVALID_ORDER_DATA")
			require.Equal(t, []any{"addFunds", "amount"}, got.Path)
			require.Contains(t, got.Message, "Decimal")
		})
	}

	t.Run("number literal", func(t *testing.T) {
		t.Parallel()
		res := e.post(t, admin, `mutation { addFunds(customerId: "c1", amount: 29.99) { id } }`, nil)
		requireCode(t, res, "INVALID_ORDER_DATA")
	})
}

func TestIntArgumentsAreStrict(t *testing.T) {
	t.Parallel()
	e, _ := setupOffline(t, graph.HandlerOptions{})
	admin := e.token(t, "admin-1", auth.RoleAdmin)
	const restock = `mutation($q: Int!) { restockProduct(productId: "p1", quantity: $q) { id } }`

	for name, q := range map[string]any{
		"numeric string": "1",
		"above 32 bits":  int64(1) << 40,
		"below 32 bits":  -(int64(1) << 40),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res := e.post(t, admin, restock, map[string]any{"q": q})
			got := requireCode(t, res, "INVALID_ORDER_DATA")
			require.Contains(t, got.Message, "Int")
		})
	}
	t.Run("literal above 32 bits", func(t *testing.T) {
		t.Parallel()
		res := e.post(t, admin, `mutation { restockProduct(productId: "p1", quantity: 1099511627776) { id } }`, nil)
		requireCode(t, res, "INVALID_ORDER_DATA")
	})
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	e, _ := setupOffline(t, graph.HandlerOptions{})

	query := `query { product(id: "` + strings.Repeat("x", 2<<20) + `") { id } }`
	body, err := json.Marshal(map[string]any{"query": query})
	require.NoError(t, err)
	res := e.postRaw(t, "", "application/json", body)

	require.Equal(t, http.StatusRequestEntityTooLarge, res.Status)
	got := requireCode(t, res, "INVALID_ORDER_DATA")
	require.Equal(t, "BODY_TOO_LARGE", got.Extensions["reason"])

	t.Run("chunked body without length", func(t *testing.T) {
		t.Parallel()
		req, err := http.NewRequest(http.MethodPost, e.url, io.MultiReader(bytes.NewReader(body)))
		require.NoError(t, err)
		req.ContentLength = -1
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		require.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
	})
}

func TestMalformedRequests(t *testing.T) {
	t.Parallel()
	e, _ := setupOffline(t, graph.HandlerOptions{})

	t.Run("not json", func(t *testing.T) {
		t.Parallel()
		res := e.postRaw(t, "", "application/json", []byte(`{"query": "{ product`+strings.Repeat("x", 5000)))
		require.Equal(t, http.StatusBadRequest, res.Status)
		got := requireCode(t, res, "INVALID_ORDER_DATA")
		require.Less(t, len(got.Message), 400, "the body is not echoed back in full")
	})
	t.Run("unsupported content type", func(t *testing.T) {
		t.Parallel()
		res := e.postRaw(t, "", "text/plain", []byte(`{ __typename }`))
		require.Equal(t, http.StatusBadRequest, res.Status)
		requireCode(t, res, "INVALID_ORDER_DATA")
	})
	t.Run("no operation", func(t *testing.T) {
		t.Parallel()
		res := e.post(t, "", ``, nil)
		requireCode(t, res, "INVALID_ORDER_DATA")
	})
	t.Run("GET is not served", func(t *testing.T) {
		t.Parallel()
		res, err := http.Get(e.url + `?query=%7B__typename%7D`)
		require.NoError(t, err)
		defer res.Body.Close()
		require.Equal(t, http.StatusBadRequest, res.StatusCode)
		var out gqlResponse
		require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
		require.Len(t, out.Errors, 1)
		require.Equal(t, "INVALID_ORDER_DATA", out.Errors[0].Extensions["code"])
		require.Equal(t, res.Header.Get(graph.RequestIDHeader), out.Errors[0].Extensions["requestId"])
	})
}

func TestDepthLimit(t *testing.T) {
	t.Parallel()
	// The schema has no recursive types, so its natural depth is small;
	// a limit of 2 shows the extension at work.
	e, _ := setupOffline(t, graph.HandlerOptions{DepthLimit: 2})

	for name, query := range map[string]string{
		"fields":          `query { order(id: "o") { items { productId } } }`,
		"fragment":        `query { ...Q } fragment Q on Query { order(id: "o") { ...I } } fragment I on Order { items { productId } }`,
		"inline fragment": `query { ... on Query { order(id: "o") { ... on Order { failure { code } } } } }`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res := e.post(t, "", query, nil)
			got := requireCode(t, res, "INVALID_ORDER_DATA")
			require.Equal(t, "DEPTH_LIMIT_EXCEEDED", got.Extensions["reason"])
			require.Contains(t, got.Message, "depth 3")
		})
	}

	t.Run("within the limit", func(t *testing.T) {
		t.Parallel()
		// Reaches the application, which wants a caller.
		res := e.post(t, "", `query { order(id: "o") { id __typename } }`, nil)
		requireCode(t, res, "UNAUTHENTICATED")
	})
}

func TestComplexityLimitIsConfigurable(t *testing.T) {
	t.Parallel()
	e, _ := setupOffline(t, graph.HandlerOptions{ComplexityLimit: 3})

	res := e.post(t, "", `query { order(id: "o") { id status currency } }`, nil)
	got := requireCode(t, res, "INVALID_ORDER_DATA")
	require.Equal(t, "COMPLEXITY_LIMIT_EXCEEDED", got.Extensions["reason"])
	require.Equal(t, http.StatusUnprocessableEntity, res.Status)

	res = e.post(t, "", `query { order(id: "o") { id } }`, nil)
	requireCode(t, res, "UNAUTHENTICATED") // within the limit: reaches the application
}

// Wide queries are bounded like deep ones: every alias, every fragment
// spread and every introspection field costs, with the default limits.
func TestWideQueriesAreRefused(t *testing.T) {
	t.Parallel()
	e, _ := setupOffline(t, graph.HandlerOptions{Introspection: true})
	admin := e.token(t, "admin-1", auth.RoleAdmin)

	aliases := func(n int, field string) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "a%d: %s ", i, field)
		}
		return b.String()
	}
	// Each fragment spreads the one before twice: 2^12 fields from a
	// few lines.
	var doubling strings.Builder
	doubling.WriteString(`query { ...F12 } fragment F0 on Query { __typename } `)
	for i := 1; i <= 12; i++ {
		fmt.Fprintf(&doubling, "fragment F%d on Query { ...F%d ... on Query { ...F%d } } ", i, i-1, i-1)
	}

	for name, query := range map[string]string{
		"aliased data fields":          `query { ` + aliases(300, `order(id: "o") { id }`) + ` }`,
		"aliased __typename":           `query { ` + aliases(501, `__typename`) + ` }`,
		"aliased introspection":        `query { __schema { ` + aliases(300, `types { name }`) + ` } }`,
		"aliased __type":               `query { ` + aliases(200, `__type(name: "Order") { name fields { name } }`) + ` }`,
		"fragments spread many times":  doubling.String(),
		"introspection query repeated": strings.Replace(introspectionQuery(9), "__schema {", "a: __schema { types { ...FullType } } b: __schema { types { ...FullType } } c: __schema {", 1),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res := e.post(t, admin, query, nil)
			got := requireCode(t, res, "INVALID_ORDER_DATA")
			require.Equal(t, "COMPLEXITY_LIMIT_EXCEEDED", got.Extensions["reason"], "%+v", got)
			require.Equal(t, http.StatusUnprocessableEntity, res.Status)
		})
	}
}

// A document of several operations runs one, named by operationName;
// batches (a JSON array of requests) are not accepted at all. Either way
// the answer is a coded refusal, not a 5xx.
func TestBatchedOperationsAreRefused(t *testing.T) {
	t.Parallel()
	e, _ := setupOffline(t, graph.HandlerOptions{})
	admin := e.token(t, "admin-1", auth.RoleAdmin)

	one := map[string]any{"query": `query { __typename }`}
	for name, batch := range map[string][]map[string]any{
		"two":  {one, one},
		"many": slicesRepeat(one, 1000),
	} {
		t.Run("json array of "+name, func(t *testing.T) {
			t.Parallel()
			body, err := json.Marshal(batch)
			require.NoError(t, err)
			res := e.postRaw(t, admin, "application/json", body)
			require.Less(t, res.Status, 500)
			require.GreaterOrEqual(t, res.Status, 400)
			requireCode(t, res, "INVALID_ORDER_DATA")
			require.Contains(t, []string{"", "null"}, string(res.Data), "nothing was executed")
		})
	}

	t.Run("several operations without a name", func(t *testing.T) {
		t.Parallel()
		res := e.post(t, admin, `query A { __typename } query B { __typename }`, nil)
		require.Less(t, res.Status, 500)
		requireCode(t, res, "INVALID_ORDER_DATA")
	})
	t.Run("several operations, one named", func(t *testing.T) {
		t.Parallel()
		body, err := json.Marshal(map[string]any{"query": `query A { __typename } query B { b: __typename }`, "operationName": "B"})
		require.NoError(t, err)
		res := e.postRaw(t, admin, "application/json", body)
		require.Empty(t, res.Errors)
		require.JSONEq(t, `{"b": "Query"}`, string(res.Data), "only the named operation runs")
	})
}

func slicesRepeat[T any](v T, n int) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestIntrospectionIsConfigurable(t *testing.T) {
	t.Parallel()
	const query = `query { __schema { queryType { name } } }`

	off, _ := setupOffline(t, graph.HandlerOptions{})
	res := off.post(t, "", query, nil)
	requireCode(t, res, "FORBIDDEN")
	res = off.post(t, "", introspectionQuery(9), nil)
	requireCode(t, res, "FORBIDDEN")

	res = off.post(t, "", `query { __typename }`, nil)
	require.Empty(t, res.Errors, "__typename is always allowed")

	on, _ := setupOffline(t, graph.HandlerOptions{Introspection: true})
	res = on.post(t, "", query, nil)
	require.Empty(t, res.Errors)
	require.JSONEq(t, `{"__schema": {"queryType": {"name": "Query"}}}`, string(res.Data))
}

// Introspection fields count towards the depth limit like any other:
// __Type.ofType is the schema's one recursive field, and a client used to
// walk it as deep as it liked. GraphiQL's own introspection query still
// fits the default limits.
func TestIntrospectionIsBoundedByTheLimits(t *testing.T) {
	t.Parallel()
	e, _ := setupOffline(t, graph.HandlerOptions{Introspection: true})

	for _, depth := range []int{7, 9} {
		t.Run(fmt.Sprintf("GraphiQL's query, typeDepth %d", depth), func(t *testing.T) {
			t.Parallel()
			res := e.post(t, "", introspectionQuery(depth), nil)
			require.Empty(t, res.Errors)
			var data struct {
				Schema struct {
					QueryType struct{ Name string }
					Types     []struct{ Name string }
				} `json:"__schema"`
			}
			require.NoError(t, json.Unmarshal(res.Data, &data))
			require.Equal(t, "Query", data.Schema.QueryType.Name)
			require.NotEmpty(t, data.Schema.Types)
		})
	}

	for name, query := range map[string]string{
		"__type.ofType 50 deep":    `query { __type(name: "Order") { ` + typeRef(50) + ` } }`,
		"__type.ofType 15 deep":    `query { __type(name: "Order") { ` + typeRef(15) + ` } }`,
		"through fields and types": `query { __type(name: "Order") { fields { type { ` + typeRef(12) + ` } } } }`,
		"__schema, then ofType":    `query { __schema { types { ` + typeRef(15) + ` } } }`,
		"in fragments":             `query { __type(name: "Order") { ...T } } fragment T on __Type { ofType { ...U } } fragment U on __Type { ` + typeRef(20) + ` }`,
		"in an inline fragment":    `query { ... on Query { __type(name: "Order") { ` + typeRef(50) + ` } } }`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res := e.post(t, "", query, nil)
			got := requireCode(t, res, "INVALID_ORDER_DATA")
			require.Equal(t, "DEPTH_LIMIT_EXCEEDED", got.Extensions["reason"], "%+v", got)
			require.Equal(t, http.StatusUnprocessableEntity, res.Status)
			require.Contains(t, []string{"", "null"}, string(res.Data), "nothing was executed")
		})
	}
}

func TestSearchFilterTypesAreChecked(t *testing.T) {
	t.Parallel()
	e, _ := setupOffline(t, graph.HandlerOptions{})
	admin := e.token(t, "admin-1", auth.RoleAdmin)

	t.Run("bad Time in the filter", func(t *testing.T) {
		t.Parallel()
		res := e.post(t, admin, `query($from: Time) { searchOrders(filter: {createdFrom: $from}) { total } }`, map[string]any{"from": "yesterday"})
		requireCode(t, res, "INVALID_ORDER_DATA")
	})
}

func TestAuthenticationFailures(t *testing.T) {
	t.Parallel()
	e, _ := setupOffline(t, graph.HandlerOptions{})
	const query = `query { product(id: "p1") { id } }`

	expired, err := auth.Issue(e.secret, "admin-1", -time.Minute, auth.RoleAdmin)
	require.NoError(t, err)
	foreign, err := auth.Issue([]byte("someone else's secret"), "admin-1", time.Hour, auth.RoleAdmin)
	require.NoError(t, err)

	for name, tc := range map[string]struct{ token, message string }{
		"no token":     {"", "authentication required"},
		"garbage":      {"not-a-jwt", "invalid bearer token"},
		"expired":      {expired, "expired"},
		"wrong secret": {foreign, "signature"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res := e.post(t, tc.token, query, nil)
			require.Equal(t, http.StatusOK, res.Status, "authentication errors are GraphQL errors")
			got := requireCode(t, res, "UNAUTHENTICATED")
			require.Contains(t, got.Message, tc.message)
		})
	}
}

func TestWebsocketAuthentication(t *testing.T) {
	t.Parallel()
	secret := []byte("offline-test-secret")
	h := graph.NewHandler(graph.NewResolver(app.Application{}, nil), graph.HandlerOptions{JWTSecret: secret})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http")
	const subscription = `subscription { orderStatusChanged(orderId: "o1") { id status } }`

	expired, err := auth.Issue(secret, "ops", -time.Minute, auth.RoleAdmin)
	require.NoError(t, err)
	unknownRole, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": uuid.NewString(), "roles": []string{"superuser"}, "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString(secret)
	require.NoError(t, err)
	bad := map[string]struct {
		payload map[string]any
		header  http.Header
		message string
	}{
		"garbage":               {map[string]any{"Authorization": "Bearer not-a-jwt"}, nil, "invalid bearer token"},
		"lower-case key":        {map[string]any{"authorization": "Bearer not-a-jwt"}, nil, "invalid bearer token"},
		"expired":               {map[string]any{"Authorization": "Bearer " + expired}, nil, "expired"},
		"unknown role":          {map[string]any{"Authorization": "Bearer " + unknownRole}, nil, "roles must be exactly"},
		"bad header on upgrade": {nil, http.Header{"Authorization": {"Bearer not-a-jwt"}}, "invalid bearer token"},
	}

	// graphql-transport-ws: "the server ... closes the socket with 4403:
	// Forbidden" when it refuses connection_init.
	for name, tc := range bad {
		t.Run("graphql-transport-ws closes with 4403: "+name, func(t *testing.T) {
			t.Parallel()
			d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}
			conn, resp, err := d.Dial(wsURL, tc.header)
			require.NoError(t, err)
			defer conn.Close()
			require.Equal(t, "graphql-transport-ws", resp.Header.Get("Sec-Websocket-Protocol"))
			require.NoError(t, conn.WriteJSON(map[string]any{"type": "connection_init", "payload": tc.payload}))
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
			_, msg, err := conn.ReadMessage()
			var closeErr *websocket.CloseError
			require.ErrorAs(t, err, &closeErr, "the first thing the client reads is the close, got %s", msg)
			require.Equal(t, 4403, closeErr.Code)
			require.Contains(t, closeErr.Text, "Forbidden")
			require.Contains(t, closeErr.Text, tc.message)
		})
	}

	// The legacy graphql-ws protocol (also what a client offering no
	// sub-protocol gets) answers connection_error, then closes.
	for name, tc := range bad {
		for _, protocols := range [][]string{{"graphql-ws"}, nil} {
			t.Run(fmt.Sprintf("graphql-ws %v answers connection_error: %s", protocols, name), func(t *testing.T) {
				t.Parallel()
				d := websocket.Dialer{Subprotocols: protocols}
				conn, _, err := d.Dial(wsURL, tc.header)
				require.NoError(t, err)
				defer conn.Close()
				require.NoError(t, conn.WriteJSON(map[string]any{"type": "connection_init", "payload": tc.payload}))
				require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
				var msg struct {
					Type    string `json:"type"`
					Payload struct {
						Message string `json:"message"`
					} `json:"payload"`
				}
				require.NoError(t, conn.ReadJSON(&msg))
				require.Equal(t, "connection_error", msg.Type)
				require.Contains(t, msg.Payload.Message, "UNAUTHENTICATED")
				require.Contains(t, msg.Payload.Message, tc.message)
				_, _, err = conn.ReadMessage()
				var closeErr *websocket.CloseError
				require.ErrorAs(t, err, &closeErr, "the server closes the connection")
			})
		}
	}

	t.Run("both offered: the legacy protocol is chosen and keeps its convention", func(t *testing.T) {
		t.Parallel()
		d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws", "graphql-ws"}}
		conn, resp, err := d.Dial(wsURL, nil)
		require.NoError(t, err)
		defer conn.Close()
		require.Equal(t, "graphql-ws", resp.Header.Get("Sec-Websocket-Protocol"))
		require.NoError(t, conn.WriteJSON(map[string]any{"type": "connection_init", "payload": bad["garbage"].payload}))
		var msg struct{ Type string }
		require.NoError(t, conn.ReadJSON(&msg))
		require.Equal(t, "connection_error", msg.Type)
	})

	t.Run("valid token connects", func(t *testing.T) {
		t.Parallel()
		tok, err := auth.Issue(secret, uuid.NewString(), time.Hour, auth.RoleCustomer)
		require.NoError(t, err)
		sub := client.New(h).WebsocketWithPayload(subscription, map[string]any{"Authorization": "Bearer " + tok})
		defer func() { _ = sub.Close() }()
		var resp map[string]any
		err = sub.Next(&resp)
		// The connection is accepted and the subscription reaches its
		// resolver; the zero Application behind this handler fails there,
		// as a coded error rather than a dropped connection.
		require.Error(t, err)
		require.NotContains(t, err.Error(), "invalid bearer token")
		require.Contains(t, err.Error(), `"code":"INTERNAL"`)
	})

	t.Run("valid token over graphql-transport-ws is acknowledged", func(t *testing.T) {
		t.Parallel()
		tok, err := auth.Issue(secret, "ops", time.Hour, auth.RoleAdmin)
		require.NoError(t, err)
		d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}
		conn, _, err := d.Dial(wsURL, nil)
		require.NoError(t, err)
		defer conn.Close()
		require.NoError(t, conn.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + tok}}))
		var msg struct{ Type string }
		require.NoError(t, conn.ReadJSON(&msg))
		require.Equal(t, "connection_ack", msg.Type)
	})
}

// introspectionQuery is the query GraphiQL sends (graphql-js'
// getIntrospectionQuery with every option on), with typeDepth levels of
// ofType: 7 in graphql-js 16, 9 in later versions.
func introspectionQuery(typeDepth int) string {
	return fmt.Sprintf(`query IntrospectionQuery {
  __schema {
    description
    queryType { name kind }
    mutationType { name kind }
    subscriptionType { name kind }
    types { ...FullType }
    directives {
      name description isRepeatable locations
      args(includeDeprecated: true) { ...InputValue }
    }
  }
}
fragment FullType on __Type {
  kind name description specifiedByURL
  fields(includeDeprecated: true) {
    name description
    args(includeDeprecated: true) { ...InputValue }
    type { ...TypeRef }
    isDeprecated deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name description type { ...TypeRef } defaultValue isDeprecated deprecationReason
}
fragment TypeRef on __Type { %s }`, typeRef(typeDepth))
}

func typeRef(depth int) string {
	if depth == 0 {
		return "kind name"
	}
	return "kind name ofType { " + typeRef(depth-1) + " }"
}

// A websocket that sends no connection_init within the init timeout is
// closed with its protocol's code: graphql-transport-ws's 4408
// "Connection initialisation timeout", the legacy graphql-ws's 1002. One
// that sent it in time stays open past the timeout.
func TestWebsocketInitTimeout(t *testing.T) {
	t.Parallel()
	secret := []byte("offline-test-secret")
	const timeout = 300 * time.Millisecond
	h := graph.NewHandler(graph.NewResolver(app.Application{}, nil), graph.HandlerOptions{JWTSecret: secret, InitTimeout: timeout})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http")
	token, err := auth.Issue(secret, uuid.NewString(), time.Hour, auth.RoleCustomer)
	require.NoError(t, err)

	for protocol, code := range map[string]int{"graphql-transport-ws": 4408, "graphql-ws": 1002} {
		t.Run(protocol+" silent", func(t *testing.T) {
			t.Parallel()
			d := websocket.Dialer{Subprotocols: []string{protocol}}
			conn, _, err := d.Dial(wsURL, nil)
			require.NoError(t, err)
			defer conn.Close()
			start := time.Now()
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
			_, msg, err := conn.ReadMessage()
			var closeErr *websocket.CloseError
			require.ErrorAs(t, err, &closeErr, "the first thing the client reads is the close, got %s", msg)
			require.Equal(t, code, closeErr.Code)
			require.Equal(t, "Connection initialisation timeout", closeErr.Text)
			require.GreaterOrEqual(t, time.Since(start), timeout-50*time.Millisecond)
		})
		for name, payload := range map[string]map[string]any{"anonymous": nil, "with a token": {"Authorization": "Bearer " + token}} {
			t.Run(protocol+" initialised "+name, func(t *testing.T) {
				t.Parallel()
				d := websocket.Dialer{Subprotocols: []string{protocol}}
				conn, _, err := d.Dial(wsURL, nil)
				require.NoError(t, err)
				defer conn.Close()
				require.NoError(t, conn.WriteJSON(map[string]any{"type": "connection_init", "payload": payload}))
				var ack struct{ Type string }
				require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
				require.NoError(t, conn.ReadJSON(&ack))
				require.Equal(t, "connection_ack", ack.Type)
				// Past the timeout the connection still answers a ping.
				time.Sleep(2 * timeout)
				require.NoError(t, conn.WriteJSON(map[string]any{"type": "ping"}))
				if protocol == "graphql-transport-ws" {
					var pong struct{ Type string }
					for pong.Type != "pong" {
						require.NoError(t, conn.ReadJSON(&pong))
					}
				} else {
					// The legacy protocol has no ping: the server's keep-alive
					// ("ka") shows the connection is alive.
					require.NoError(t, conn.SetReadDeadline(time.Now().Add(30*time.Second)))
					var ka struct{ Type string }
					for ka.Type != "ka" {
						require.NoError(t, conn.ReadJSON(&ka))
					}
				}
			})
		}
	}
}
