package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/rest"
)

// The OpenAPI description, loaded and checked once per test binary.
type openAPI struct {
	doc    *openapi3.T
	router routers.Router
}

var loadOpenAPI = sync.OnceValues(func() (*openAPI, error) {
	// kin-openapi checks date-time itself; uuid (request ids) on request.
	openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC4122))
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(rest.OpenAPIDocument)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, err
	}
	// Route on paths alone: the document's server is relative ("/"),
	// the tests' servers listen on random ports.
	routed := *doc
	routed.Servers = nil
	router, err := legacy.NewRouter(&routed)
	if err != nil {
		return nil, err
	}
	return &openAPI{doc: doc, router: router}, nil
})

func spec(t *testing.T) *openAPI {
	t.Helper()
	o, err := loadOpenAPI()
	require.NoError(t, err, "the OpenAPI document loads and is valid")
	return o
}

// checkAnswer validates one REST answer against the OpenAPI description:
// status, headers and body of the operation the request addressed; an
// answer to a path or method the description does not have (404, 405)
// must still be the error envelope (and a 405 name the allowed method).
func checkAnswer(t *testing.T, req *http.Request, status int, header http.Header, body []byte) error {
	t.Helper()
	o := spec(t)
	envelope := func() error {
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return err
		}
		return o.doc.Components.Schemas["Error"].Value.VisitJSON(v, openapi3.EnableJSONSchema2020())
	}
	if status == http.StatusMethodNotAllowed {
		// A method the path does not serve has no operation to check.
		if header.Get("Allow") == "" {
			return errors.New("405 without Allow")
		}
		return envelope()
	}
	route, params, err := o.router.FindRoute(req)
	if err != nil {
		if status != http.StatusNotFound {
			return err
		}
		return envelope()
	}
	return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
}

// checkRequest validates a request body against the description (used
// for the requirements' example, which must be what the document
// describes).
func checkRequest(t *testing.T, method, path string, header http.Header, body []byte) error {
	t.Helper()
	o := spec(t)
	req, err := http.NewRequest(method, path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header = header.Clone()
	route, params, err := o.router.FindRoute(req)
	if err != nil {
		return err
	}
	return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	})
}

// The check can fail: answers that stray from the description are caught.
func TestOpenAPICheckCatchesAnswersThatStray(t *testing.T) {
	t.Parallel()
	get := func(path string) *http.Request {
		req, err := http.NewRequest(http.MethodGet, "http://orderflow"+path, nil)
		require.NoError(t, err)
		return req
	}
	post, err := http.NewRequest(http.MethodPost, "http://orderflow/api/v1/orders", nil)
	require.NoError(t, err)
	h := func(kv ...string) http.Header {
		out := http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"0b9e7f0c-2a4d-4c8e-9f1a-3d5b7c9e1f20"}}
		for i := 0; i+1 < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	placed := `{"order_id":"o","status":"processing","estimated_completion":"2026-11-30T21:00:00Z","saga_id":"o","links":{"self":"/api/v1/orders/o","status":"/api/v1/orders/o/status"},"version":1}`
	envelope := `{"error":{"code":"NOT_FOUND","message":"order o not found","details":{},"timestamp":"2026-11-30T21:00:00Z","request_id":"0b9e7f0c-2a4d-4c8e-9f1a-3d5b7c9e1f20"}}`

	require.NoError(t, checkAnswer(t, post, 201, h("Location", "/api/v1/orders/o"), []byte(placed)))
	require.NoError(t, checkAnswer(t, get("/api/v1/orders/o"), 404, h(), []byte(envelope)))
	require.NoError(t, checkAnswer(t, get("/api/v1/nothing"), 404, h(), []byte(envelope)))

	for name, c := range map[string]struct {
		req    *http.Request
		status int
		header http.Header
		body   string
		want   string
	}{
		"placement without estimated_completion": {post, 201, h("Location", "/x"), `{"order_id":"o","status":"processing","saga_id":"o","links":{"self":"/a","status":"/b"},"version":1}`, "estimated_completion"},
		"placement with an unknown status":       {post, 201, h("Location", "/x"), `{"order_id":"o","status":"PENDING","estimated_completion":"2026-11-30T21:00:00Z","saga_id":"o","links":{"self":"/a","status":"/b"},"version":1}`, "/status"},
		"placement without Location":             {post, 201, h(), placed, "Location"},
		"bare error, no envelope":                {get("/api/v1/orders/o"), 404, h(), `{"code":"NOT_FOUND","message":"m","details":{},"request_id":"r"}`, "code"},
		"error with an unknown code":             {get("/api/v1/orders/o/status"), 404, h(), `{"error":{"code":"GONE","message":"m","details":{},"timestamp":"2026-11-30T21:00:00Z","request_id":"0b9e7f0c-2a4d-4c8e-9f1a-3d5b7c9e1f20"}}`, "/error/code"},
		"request id not a uuid":                  {get("/api/v1/orders/o"), 404, h(), strings.Replace(envelope, `"request_id":"0b9e`, `"request_id":"xb9e`, 1), "request_id"},
		"timestamp not a date-time":              {get("/api/v1/orders/o"), 404, h(), strings.Replace(envelope, `2026-11-30T21:00:00Z`, `yesterday`, 1), "timestamp"},
		"503 without Retry-After":                {get("/api/v1/orders/o"), 503, h(), envelope, "Retry-After"},
		"undocumented status":                    {get("/api/v1/orders/o"), 418, h(), envelope, "status is not supported"},
		"unknown path, not the envelope":         {get("/api/v1/nothing"), 404, h(), `not found`, "invalid character"},
		"status with a step that does not exist": {get("/api/v1/orders/o/status"), 200, h(), `{"order_id":"o","status":"PENDING","current_step":"SHIPPED","completed_steps":[],"pending_steps":[],"estimated_completion":"2026-11-30T21:00:00Z","last_updated":"2026-11-30T21:00:00Z","version":1}`, "/current_step"},
	} {
		err := checkAnswer(t, c.req, c.status, c.header, []byte(c.body))
		require.Error(t, err, name)
		require.Contains(t, err.Error(), c.want, name)
	}
}

// The document is served as kept in the repository, without a token.
func TestOpenAPIDocumentIsServed(t *testing.T) {
	t.Parallel()
	f := setup(t)
	res := f.do(t, http.MethodGet, "/api/v1/openapi.json", "", nil, nil)
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	require.JSONEq(t, string(rest.OpenAPIDocument), string(res.body))
	require.Equal(t, "3.1.0", spec(t).doc.OpenAPI)
	require.True(t, spec(t).doc.IsOpenAPI31OrLater())

	res = f.do(t, http.MethodPost, "/api/v1/openapi.json", "", []byte(`{}`), nil)
	require.Equal(t, http.StatusMethodNotAllowed, res.status, "body: %s", res.body)
}
