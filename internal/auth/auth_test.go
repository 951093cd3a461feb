package auth

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/errcode"
)

func TestIssueAndVerify(t *testing.T) {
	t.Parallel()
	secret := []byte("s")
	tok, err := Issue(secret, "cust-1", time.Hour, RoleCustomer)
	require.NoError(t, err)

	p, err := Verify(secret, "Bearer "+tok)
	require.NoError(t, err)
	require.Equal(t, "cust-1", p.Subject)
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
	expired, err := Issue(secret, "c", -time.Minute, RoleCustomer)
	require.NoError(t, err)
	other, err := Issue([]byte("other"), "c", time.Hour, RoleCustomer)
	require.NoError(t, err)
	noRoles, err := Issue(secret, "c", time.Hour)
	require.NoError(t, err)

	for name, header := range map[string]string{
		"empty":        "",
		"garbage":      "Bearer not.a.jwt",
		"expired":      "Bearer " + expired,
		"wrong secret": "Bearer " + other,
		"no roles":     "Bearer " + noRoles,
	} {
		_, err := Verify(secret, header)
		require.Truef(t, errcode.Is(err, errcode.Unauthenticated), "%s: %v", name, err)
	}

	_, err = Issue(secret, "c", time.Hour, Role("root"))
	require.Error(t, err)
}
