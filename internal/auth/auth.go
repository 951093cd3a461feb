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
	"github.com/google/uuid"

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

// MaxSubjectLength bounds a token's subject. An admin's subject is an
// operator name, recorded in events (who cancelled an order), so it is
// input like any other.
const MaxSubjectLength = 128

// checkClaims holds a token to the contract: its roles are exactly
// ["customer"] or ["admin"], a customer's subject is a customer id (the
// canonical UUID registerCustomer mints) and an admin's a name of at most
// MaxSubjectLength bytes. Anything else is not a principal of this API, so
// a role it does not know can never fall through to a default.
func checkClaims(subject string, roles []Role) error {
	if len(roles) != 1 || (roles[0] != RoleCustomer && roles[0] != RoleAdmin) {
		return errors.New(`roles must be exactly ["customer"] or ["admin"]`)
	}
	switch {
	case strings.TrimSpace(subject) == "":
		return errors.New("subject is empty")
	case len(subject) > MaxSubjectLength:
		return fmt.Errorf("subject is longer than %d bytes", MaxSubjectLength)
	case roles[0] == RoleCustomer && !isCustomerID(subject):
		return errors.New("a customer's subject must be a customer id (a UUID such as 0b0c7e8e-3f7a-4e0b-9a51-6f1f4c0f2a11)")
	}
	return nil
}

// isCustomerID reports whether s is a UUID in the canonical lower-case form
// customer ids are minted in.
func isCustomerID(s string) bool {
	id, err := uuid.Parse(s)
	return err == nil && id.String() == s
}

// Issue signs a token for subject with roles, valid for ttl. It refuses
// the claims Verify would refuse: roles must be exactly one of customer or
// admin, and a customer's subject a customer id.
func Issue(secret []byte, subject string, ttl time.Duration, roles ...Role) (string, error) {
	if err := checkClaims(subject, roles); err != nil {
		return "", fmt.Errorf("token claims: %w", err)
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
// and returns its principal, or an UNAUTHENTICATED error. A token that is
// well signed but whose claims break the contract (an unknown role, several
// roles, a customer subject that is not a customer id) is refused too: it
// authenticates no one this API knows.
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
	if err := checkClaims(c.Subject, c.Roles); err != nil {
		return Principal{}, errcode.New(errcode.Unauthenticated, "invalid bearer token: %v", err)
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
