package payments_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/command/domain/limits"
	"github.com/orderflow/orderflow/command/domain/payments"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/messages"
)

// requireBound checks a refusal: INVALID_ORDER_DATA naming the field and,
// where the rule has one, the bound.
func requireBound(t *testing.T, events []messages.Event, err error, field string, limit any) {
	t.Helper()
	require.Empty(t, events)
	require.Error(t, err)
	var coded *errcode.Error
	require.ErrorAs(t, err, &coded)
	require.Equal(t, errcode.InvalidOrderData, coded.Code, err.Error())
	require.Equal(t, field, coded.Details["field"], err.Error())
	require.Contains(t, coded.Message, field, "the message names the field")
	if limit != nil {
		require.Equal(t, limit, coded.Details["limit"], err.Error())
		require.Contains(t, coded.Message, fmt.Sprint(limit))
	}
	require.Less(t, len(coded.Message), 300, "the refusal does not echo the value")
}

func TestRegisterBounds(t *testing.T) {
	t.Parallel()

	valid := messages.RegisterCustomer{CustomerID: customerID, Email: "ann@example.com", Name: "Ann"}
	domain := "@example.com"
	tests := []struct {
		name  string
		edit  func(*messages.RegisterCustomer)
		field string
		limit any
	}{
		{"id too long", func(c *messages.RegisterCustomer) { c.CustomerID = strings.Repeat("c", limits.MaxIDLength+1) }, "customerId", limits.MaxIDLength},
		{"1 MB email", func(c *messages.RegisterCustomer) { c.Email = strings.Repeat("a", 1<<20) + domain }, "email", limits.MaxEmailLength},
		{"email too long", func(c *messages.RegisterCustomer) {
			c.Email = strings.Repeat("a", limits.MaxEmailLength-len(domain)+1) + domain
		}, "email", limits.MaxEmailLength},
		{"email with a space", func(c *messages.RegisterCustomer) { c.Email = "ann smith@example.com" }, "email", nil},
		{"email without a name", func(c *messages.RegisterCustomer) { c.Email = "@example.com" }, "email", nil},
		{"email without a domain", func(c *messages.RegisterCustomer) { c.Email = "ann@" }, "email", nil},
		{"email with a line break", func(c *messages.RegisterCustomer) { c.Email = "ann@exa\nmple.com" }, "email", nil},
		{"1 MB name", func(c *messages.RegisterCustomer) { c.Name = strings.Repeat("n", 1<<20) }, "name", limits.MaxCustomerNameLength},
		{"name too long", func(c *messages.RegisterCustomer) { c.Name = strings.Repeat("é", limits.MaxCustomerNameLength+1) }, "name", limits.MaxCustomerNameLength},
		{"name of ideographic spaces", func(c *messages.RegisterCustomer) { c.Name = "\u3000\u3000" }, "name", nil},
		{"name with an escape", func(c *messages.RegisterCustomer) { c.Name = "Ann\x1b[31m" }, "name", nil},
		{"credit above the maximum", func(c *messages.RegisterCustomer) { c.InitialCredit = limits.MaxAmount + 1 }, "initialCredit", limits.MaxAmount.String()},
		{"credit at int64's end", func(c *messages.RegisterCustomer) { c.InitialCredit = math.MaxInt64 }, "initialCredit", limits.MaxAmount.String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := valid
			tt.edit(&cmd)
			events, err := (&payments.Customer{}).Register(cmd)
			requireBound(t, events, err, tt.field, tt.limit)
		})
	}

	t.Run("at the bounds", func(t *testing.T) {
		t.Parallel()
		cmd := messages.RegisterCustomer{
			CustomerID:    strings.Repeat("c", limits.MaxIDLength),
			Email:         strings.Repeat("ü", limits.MaxEmailLength-len("@b")) + "@b",
			Name:          strings.Repeat("Ω", limits.MaxCustomerNameLength),
			InitialCredit: limits.MaxAmount,
		}
		events, err := (&payments.Customer{}).Register(cmd)
		require.NoError(t, err)
		require.Len(t, events, 1)
	})
}

// The money an account ever receives stays at most MaxBalance, so balance,
// held and captured can never overflow whatever happens to them.
func TestAddFundsBounds(t *testing.T) {
	t.Parallel()

	t.Run("one addition", func(t *testing.T) {
		t.Parallel()
		c := setup(t, 0)
		apply(t, c)(c.AddFunds(limits.MaxAmount))
		events, err := c.AddFunds(limits.MaxAmount + 1)
		requireBound(t, events, err, "amount", limits.MaxAmount.String())
		events, err = c.AddFunds(0)
		requireBound(t, events, err, "amount", "0.01")
	})

	t.Run("the account's lifetime", func(t *testing.T) {
		t.Parallel()
		c := setup(t, limits.MaxAmount)
		apply(t, c)(c.Authorize("o-1", 100))
		apply(t, c)(c.Capture("o-1"))
		apply(t, c)(c.Authorize("o-2", 50))
		// Fill the account to MaxBalance less one cent; Apply trusts its
		// input, which saves ten thousand additions.
		c.Apply(messages.FundsAdded{CustomerID: customerID, Amount: limits.MaxBalance - limits.MaxAmount - 1})
		requireAccount(t, c, limits.MaxBalance-1-150, 50, 100)

		events, err := c.AddFunds(2)
		requireBound(t, events, err, "amount", limits.MaxBalance.String())
		apply(t, c)(c.AddFunds(1))
		events, err = c.AddFunds(1)
		requireBound(t, events, err, "amount", limits.MaxBalance.String())
	})
}
