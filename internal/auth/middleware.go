package auth

import (
	"context"
	"net/http"

	"github.com/orderflow/orderflow/internal/errcode"
)

// Middleware authenticates HTTP requests by their "Authorization: Bearer
// <jwt>" header, shared by the GraphQL and REST ports.
//
// It never refuses a request itself: a verified token puts its Principal in
// the context, a missing or invalid one leaves the context without a
// principal, and the application answers UNAUTHENTICATED where it needs a
// caller. So every port reports authentication failures in its own error
// format. The reason an invalid token was refused is kept for that answer
// (TokenError). An empty secret accepts no token at all.
func Middleware(secret []byte) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			header := r.Header.Get("Authorization")
			if header == "" {
				next.ServeHTTP(w, r)
				return
			}
			p, err := VerifyWithSecret(secret, header)
			if err != nil {
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenErrorKey{}, err)))
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
		})
	}
}

// VerifyWithSecret is Verify that refuses every token when no secret is
// configured, instead of accepting tokens signed with an empty key.
func VerifyWithSecret(secret []byte, header string) (Principal, error) {
	if len(secret) == 0 {
		return Principal{}, errcode.New(errcode.Unauthenticated, "bearer tokens are not accepted: the server has no JWT secret")
	}
	return Verify(secret, header)
}

type tokenErrorKey struct{}

// TokenError returns why the request's bearer token was refused, or nil
// when it carried none or a valid one. Ports use it to tell a client with
// an expired token more than "authentication required".
func TokenError(ctx context.Context) error {
	err, _ := ctx.Value(tokenErrorKey{}).(error)
	return err
}
