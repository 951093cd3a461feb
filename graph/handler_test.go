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

	res = e.post(t, "", `query { order(id: "o") { id } }`, nil)
	requireCode(t, res, "UNAUTHENTICATED") // within the limit: reaches the application
}

func TestIntrospectionIsConfigurable(t *testing.T) {
	t.Parallel()
	const query = `query { __schema { queryType { name } } }`

	off, _ := setupOffline(t, graph.HandlerOptions{})
	res := off.post(t, "", query, nil)
	requireCode(t, res, "FORBIDDEN")

	res = off.post(t, "", `query { __typename }`, nil)
	require.Empty(t, res.Errors, "__typename is always allowed")

	on, _ := setupOffline(t, graph.HandlerOptions{Introspection: true})
	res = on.post(t, "", query, nil)
	require.Empty(t, res.Errors)
	require.JSONEq(t, `{"__schema": {"queryType": {"name": "Query"}}}`, string(res.Data))

	// GraphiQL's full introspection query is deeper than the depth limit;
	// introspection fields do not count.
	res = on.post(t, "", introspectionQuery, nil)
	require.Empty(t, res.Errors)
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
	c := client.New(h)
	const subscription = `subscription { orderStatusChanged(orderId: "o1") { id status } }`

	t.Run("invalid token is refused at connection_init", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(h)
		defer srv.Close()
		for _, payload := range []map[string]any{
			{"Authorization": "Bearer not-a-jwt"},
			{"authorization": "Bearer not-a-jwt"},
		} {
			conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
			require.NoError(t, err)
			require.NoError(t, conn.WriteJSON(map[string]any{"type": "connection_init", "payload": payload}))
			var msg struct {
				Type    string `json:"type"`
				Payload struct {
					Message string `json:"message"`
				} `json:"payload"`
			}
			require.NoError(t, conn.ReadJSON(&msg))
			require.Equal(t, "connection_error", msg.Type)
			require.Contains(t, msg.Payload.Message, "invalid bearer token")
			_, _, err = conn.ReadMessage()
			require.Error(t, err, "the server closes the connection")
			_ = conn.Close()
		}
	})

	t.Run("valid token connects", func(t *testing.T) {
		t.Parallel()
		tok, err := auth.Issue(secret, "c1", time.Hour, auth.RoleCustomer)
		require.NoError(t, err)
		sub := c.WebsocketWithPayload(subscription, map[string]any{"Authorization": "Bearer " + tok})
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
}

// introspectionQuery is the query GraphiQL sends, abridged to its deepest
// part.
var introspectionQuery = fmt.Sprintf(`query IntrospectionQuery {
  __schema {
    queryType { name }
    types { ...FullType }
  }
}
fragment FullType on __Type {
  kind name
  fields(includeDeprecated: true) { name args { ...InputValue } type { ...TypeRef } }
  inputFields { ...InputValue }
}
fragment InputValue on __InputValue { name type { ...TypeRef } defaultValue }
fragment TypeRef on __Type { %s }`, typeRef(7))

func typeRef(depth int) string {
	if depth == 0 {
		return "kind name"
	}
	return "kind name ofType { " + typeRef(depth-1) + " }"
}
