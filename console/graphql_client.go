package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// APIError is a refusal of the GraphQL API as the console shows it: the
// contract's code (extensions.code) and the API's message.
type APIError struct {
	Code    string
	Message string
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

type graphQLRequest struct {
	Query     string         `json:"query"`
	Variables map[string]any `json:"variables,omitempty"`
}

type graphQLResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string `json:"message"`
		Extensions struct {
			Code string `json:"code"`
		} `json:"extensions"`
	} `json:"errors"`
}

// query runs a GraphQL operation through the API's handler in process, as
// the browser's request: its Authorization header (the operator's token)
// and its context. The first error the API answers comes back as an
// *APIError; data decodes into into.
func (c *Console) query(r *http.Request, query string, vars map[string]any, into any) error {
	resp, err := c.do(r, query, vars)
	if err != nil {
		return err
	}
	if len(resp.Errors) > 0 {
		e := resp.Errors[0]
		code := e.Extensions.Code
		if code == "" {
			code = "INTERNAL"
		}
		return &APIError{Code: code, Message: e.Message}
	}
	return decodeData(resp, into)
}

func decodeData(resp graphQLResponse, into any) error {
	if into == nil || len(resp.Data) == 0 || string(resp.Data) == "null" {
		return nil
	}
	if err := json.Unmarshal(resp.Data, into); err != nil {
		return fmt.Errorf("decode graphql data: %w", err)
	}
	return nil
}

// do runs the operation and returns the API's whole answer, errors and
// (partial) data together.
func (c *Console) do(r *http.Request, query string, vars map[string]any) (graphQLResponse, error) {
	var resp graphQLResponse
	body, err := json.Marshal(graphQLRequest{Query: query, Variables: vars})
	if err != nil {
		return resp, fmt.Errorf("encode graphql request: %w", err)
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, c.opts.GraphQLPath, bytes.NewReader(body))
	if err != nil {
		return resp, fmt.Errorf("build graphql request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if a := r.Header.Get("Authorization"); a != "" {
		req.Header.Set("Authorization", a)
	}
	if id := r.Header.Get("X-Request-Id"); id != "" {
		req.Header.Set("X-Request-Id", id)
	}
	rec := &recorder{header: http.Header{}}
	c.opts.GraphQL.ServeHTTP(rec, req)

	if err := json.Unmarshal(rec.body.Bytes(), &resp); err != nil {
		return resp, fmt.Errorf("decode graphql response (HTTP %d): %w", rec.status(), err)
	}
	return resp, nil
}

// asAPIError is err as the console shows it: a refusal keeps its code;
// anything else (the console's own failure) is INTERNAL, logged.
func (c *Console) asAPIError(err error) *APIError {
	if err == nil {
		return nil
	}
	if e, ok := err.(*APIError); ok {
		return e
	}
	c.opts.Logger.Error("console request failed", "error", err)
	return &APIError{Code: "INTERNAL", Message: "internal error"}
}

// recorder collects the API handler's answer in memory.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}
