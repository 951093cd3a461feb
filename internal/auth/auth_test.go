package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/errcode"
)

// sign makes a token with any claims, as a client holding the secret (or
// a forger) could, bypassing Issue's checks.
func sign(t *testing.T, secret []byte, claims jwt.MapClaims) string {
	t.Helper()
	if _, ok := claims["exp"]; !ok {
		claims["exp"] = time.Now().Add(time.Hour).Unix()
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	require.NoError(t, err)
	return tok
}

func TestIssueAndVerify(t *testing.T) {
	t.Parallel()
	secret := []byte("s")
	customer := uuid.NewString()
	tok, err := Issue(secret, customer, time.Hour, RoleCustomer)
	require.NoError(t, err)

	p, err := Verify(secret, "Bearer "+tok)
	require.NoError(t, err)
	require.Equal(t, customer, p.Subject)
	require.Equal(t, []Role{RoleCustomer}, p.Roles)
	require.False(t, p.IsAdmin())

	admin, err := Issue(secret, "ops", time.Hour, RoleAdmin)
	require.NoError(t, err)
	p, err = Verify(secret, admin)
	require.NoError(t, err)
	require.True(t, p.IsAdmin())
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	secret := []byte("s")
	expired, err := Issue(secret, "ops", -time.Minute, RoleAdmin)
	require.NoError(t, err)
	other, err := Issue([]byte("other"), "ops", time.Hour, RoleAdmin)
	require.NoError(t, err)
	noExpiry, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "ops", "roles": []string{"admin"}}).SignedString(secret)
	require.NoError(t, err)

	for name, header := range map[string]string{
		"empty":        "",
		"garbage":      "Bearer not.a.jwt",
		"expired":      "Bearer " + expired,
		"wrong secret": "Bearer " + other,
		"none alg":     "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJvcHMiLCJyb2xlcyI6WyJhZG1pbiJdfQ.",
		"no expiry":    "Bearer " + noExpiry,
	} {
		_, err := Verify(secret, header)
		require.Truef(t, errcode.Is(err, errcode.Unauthenticated), "%s: %v", name, err)
	}
}

// A token signed with the right secret still has to say what the contract
// says: "roles" is ["customer"] or ["admin"], and a customer's "sub" is a
// customer id. Anything else used to be treated as a customer.
func TestVerifyHoldsClaimsToTheContract(t *testing.T) {
	t.Parallel()
	secret := []byte("s")
	customer := uuid.NewString()

	for name, claims := range map[string]jwt.MapClaims{
		"unknown role":               {"sub": customer, "roles": []string{"superuser"}},
		"unknown role beside a good": {"sub": customer, "roles": []string{"customer", "superuser"}},
		"both roles":                 {"sub": customer, "roles": []string{"customer", "admin"}},
		"role twice":                 {"sub": customer, "roles": []string{"customer", "customer"}},
		"role in capitals":           {"sub": customer, "roles": []string{"CUSTOMER"}},
		"empty role":                 {"sub": customer, "roles": []string{""}},
		"no roles":                   {"sub": customer, "roles": []string{}},
		"roles missing":              {"sub": customer},
		"roles as a string":          {"sub": customer, "roles": "admin"},
		"no subject":                 {"roles": []string{"admin"}},
		"blank subject":              {"sub": "  ", "roles": []string{"admin"}},
		"subject not a string":       {"sub": 42, "roles": []string{"admin"}},
		"admin subject too long":     {"sub": strings.Repeat("o", MaxSubjectLength+1), "roles": []string{"admin"}},
		"customer subject not an id": {"sub": "cust-1", "roles": []string{"customer"}},
		"customer id in capitals":    {"sub": strings.ToUpper(customer), "roles": []string{"customer"}},
		"customer id in braces":      {"sub": "{" + customer + "}", "roles": []string{"customer"}},
		"customer id as urn":         {"sub": "urn:uuid:" + customer, "roles": []string{"customer"}},
		"customer id without dashes": {"sub": strings.ReplaceAll(customer, "-", ""), "roles": []string{"customer"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Verify(secret, "Bearer "+sign(t, secret, claims))
			require.Truef(t, errcode.Is(err, errcode.Unauthenticated), "%v", err)
			require.Contains(t, err.Error(), "invalid bearer token")
		})
	}

	p, err := Verify(secret, sign(t, secret, jwt.MapClaims{"sub": customer, "roles": []string{"customer"}}))
	require.NoError(t, err)
	require.Equal(t, Principal{Subject: customer, Roles: []Role{RoleCustomer}}, p)
	p, err = Verify(secret, sign(t, secret, jwt.MapClaims{"sub": "ops", "roles": []string{"admin"}}))
	require.NoError(t, err)
	require.Equal(t, Principal{Subject: "ops", Roles: []Role{RoleAdmin}}, p)
}

func TestIssueRefusesWhatVerifyRefuses(t *testing.T) {
	t.Parallel()
	secret := []byte("s")
	for name, tc := range map[string]struct {
		subject string
		roles   []Role
	}{
		"unknown role":            {"ops", []Role{"root"}},
		"no role":                 {"ops", nil},
		"two roles":               {"ops", []Role{RoleAdmin, RoleCustomer}},
		"empty subject":           {"", []Role{RoleAdmin}},
		"customer without an id":  {"cust-1", []Role{RoleCustomer}},
		"subject over the length": {strings.Repeat("o", MaxSubjectLength+1), []Role{RoleAdmin}},
	} {
		_, err := Issue(secret, tc.subject, time.Hour, tc.roles...)
		require.Error(t, err, name)
	}
}

func TestVerifyWithSecretRefusesEveryTokenWithoutASecret(t *testing.T) {
	t.Parallel()
	tok, err := Issue(nil, "ops", time.Hour, RoleAdmin)
	require.NoError(t, err, "a token signed with an empty key")
	_, err = VerifyWithSecret(nil, tok)
	require.True(t, errcode.Is(err, errcode.Unauthenticated), "%v", err)
}
