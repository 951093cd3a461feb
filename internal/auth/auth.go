// Package auth issues and verifies the HS256 bearer tokens of the API and
// carries the authenticated principal through a context.
package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/orderflow/orderflow/internal/errcode"
)

// Role is what a principal may do: customers act on their own orders,
// admins on everything.
type Role string

// The two roles of the contract.
const (
	RoleCustomer Role = "customer"
	RoleAdmin    Role = "admin"
)

// Principal is the caller behind a verified token.
type Principal struct {
	Subject string
	Roles   []Role
}

// IsAdmin reports whether the principal holds the admin role.
func (p Principal) IsAdmin() bool { return slices.Contains(p.Roles, RoleAdmin) }

type claims struct {
	Roles []Role `json:"roles"`
	jwt.RegisteredClaims
}

// Issue signs a token for subject with roles, valid for ttl.
func Issue(secret []byte, subject string, ttl time.Duration, roles ...Role) (string, error) {
	if subject == "" {
		return "", errors.New("token subject is empty")
	}
	for _, r := range roles {
		if r != RoleCustomer && r != RoleAdmin {
			return "", fmt.Errorf("unknown role %q (want customer or admin)", r)
		}
	}
	now := time.Now()
	token := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{
		Roles: roles,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   subject,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	})
	return token.SignedString(secret)
}

// Verify checks a bearer header value ("Bearer <jwt>", or the bare token)
// and returns its principal, or an UNAUTHENTICATED error.
func Verify(secret []byte, header string) (Principal, error) {
	raw := strings.TrimSpace(header)
	if after, ok := strings.CutPrefix(raw, "Bearer "); ok {
		raw = strings.TrimSpace(after)
	}
	if raw == "" {
		return Principal{}, errcode.New(errcode.Unauthenticated, "missing bearer token")
	}
	var c claims
	_, err := jwt.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithExpirationRequired())
	if err != nil {
		return Principal{}, errcode.New(errcode.Unauthenticated, "invalid bearer token: %v", err)
	}
	if c.Subject == "" || len(c.Roles) == 0 {
		return Principal{}, errcode.New(errcode.Unauthenticated, "token has no subject or roles")
	}
	return Principal{Subject: c.Subject, Roles: c.Roles}, nil
}

type principalKey struct{}

// WithPrincipal stores p in ctx.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal of ctx, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
