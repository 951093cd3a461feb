package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/requestid"
)

// RequestIDHeader carries the id of a request in responses, so a client
// reporting an INTERNAL error can name the log entry.
const RequestIDHeader = requestid.Header

// RequestID returns the id of the request ctx belongs to, or "" outside a
// request.
func RequestID(ctx context.Context) string { return requestid.From(ctx) }

// withTimeout bounds queries and mutations over HTTP. Websocket
// connections are long-lived and are left alone.
func withTimeout(d time.Duration, next http.Handler) http.Handler {
	if d <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isUpgrade(r) {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// limitBody refuses request bodies above limit bytes with 413 and an
// INVALID_ORDER_DATA error, before gqlgen reads them: gqlgen itself would
// answer an over-long body with status 200. The body is read here and
// handed on from memory.
func limitBody(limit int64, next http.Handler) http.Handler {
	if limit <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || isUpgrade(r) {
			next.ServeHTTP(w, r)
			return
		}
		tooLarge := func() {
			writeRequestError(w, r, http.StatusRequestEntityTooLarge, reasonBodyTooLarge,
				fmt.Sprintf("request body exceeds the limit of %d bytes", limit))
		}
		if r.ContentLength > limit {
			tooLarge()
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		var maxErr *http.MaxBytesError
		switch {
		case errors.As(err, &maxErr):
			tooLarge()
			return
		case err != nil:
			writeRequestError(w, r, http.StatusBadRequest, reasonBadRequest, "request body could not be read")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// supportedOnly answers requests no transport serves (a GET, a POST that
// is not application/json) with a coded error; gqlgen's own answer carries no
// code.
func supportedOnly(transports []graphql.Transport, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, t := range transports {
			if t.Supports(r) {
				next.ServeHTTP(w, r)
				return
			}
		}
		writeRequestError(w, r, http.StatusBadRequest, reasonBadRequest,
			"unsupported request: send a POST with Content-Type application/json or open a websocket")
	})
}

// writeRequestError answers a request refused before GraphQL saw it, in
// the same shape as every other error.
func writeRequestError(w http.ResponseWriter, r *http.Request, status int, reason, message string) {
	ext := map[string]any{"code": string(errcode.InvalidOrderData), "reason": reason}
	if id := RequestID(r.Context()); id != "" {
		ext["requestId"] = id
	}
	body, _ := json.Marshal(map[string]any{
		"errors": []map[string]any{{"message": message, "extensions": ext}},
	})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func isUpgrade(r *http.Request) bool { return r.Header.Get("Upgrade") != "" }
