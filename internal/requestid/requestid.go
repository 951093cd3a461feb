// Package requestid gives every HTTP request an id, in its context and in
// the X-Request-Id response header, so a client reporting an error can name
// the log entry. GraphQL, REST and the console share it.
package requestid

import (
	"context"
	"net/http"

	"github.com/google/uuid"
)

// Header carries the id of a request in responses.
const Header = "X-Request-Id"

type key struct{}

// From returns the id Middleware gave the request ctx belongs to, or ""
// outside a request.
func From(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}

// Middleware gives every request a fresh id, in the context and in the
// response header (set before anything is written, so it also reaches
// websocket upgrade responses). A websocket connection keeps the id of its
// upgrade request for all its operations.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := uuid.NewString()
		w.Header().Set(Header, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), key{}, id)))
	})
}
