package payments_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/command/domain/limits"
	"github.com/orderflow/orderflow/command/domain/payments"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/messages"
)

// FuzzCustomer registers a customer from arbitrary input (repeat stretches
// the email and name up to a megabyte), adds funds and pays. Every decision
// is either an INVALID_ORDER_DATA refusal naming a field or events that fit
// a Kafka message, and the money the account ever received stays within
// limits.MaxBalance.
func FuzzCustomer(f *testing.F) {
	f.Add("ann@example.com", "Ann", uint32(1), int64(10000), int64(250), int64(100))
	f.Add("jürgen@münchen.de", "Jürgen", uint32(50), int64(1_000_000_000_00), int64(1_000_000_000_00), int64(1))
	f.Add("a@b", "n", uint32(1<<20), int64(0), int64(1), int64(1))
	f.Add("ann.example.com", " ", uint32(0), int64(-1), int64(-1), int64(-1))
	f.Add("a @b", "n\x00", uint32(2), int64(1<<62), int64(1<<62), int64(1<<62))

	f.Fuzz(func(t *testing.T, email, name string, repeat uint32, credit, funds, pay int64) {
		c := &payments.Customer{}
		cmd := messages.RegisterCustomer{
			CustomerID: customerID, Email: email, InitialCredit: money.Amount(credit),
			Name: strings.Repeat(name, min(int(repeat%(1<<20)), (1<<20)/max(len(name), 1))),
		}
		decide(t, c, func() ([]messages.Event, error) { return c.Register(cmd) })
		if c.Version() == 0 {
			return
		}
		for range 3 {
			decide(t, c, func() ([]messages.Event, error) { return c.AddFunds(money.Amount(funds)) })
		}
		decide(t, c, func() ([]messages.Event, error) { return c.Authorize("o-1", money.Amount(pay)) })
		decide(t, c, func() ([]messages.Event, error) { return c.Capture("o-1") })
		decide(t, c, func() ([]messages.Event, error) { return c.AddFunds(money.Amount(funds)) })
	})
}

// decide runs one decision and applies its events, checking the outcome.
func decide(t *testing.T, c *payments.Customer, decision func() ([]messages.Event, error)) {
	t.Helper()
	version := c.Version()
	events, err := decision()
	require.Equal(t, version, c.Version(), "a decision never mutates")
	if err != nil {
		require.Empty(t, events)
		var coded *errcode.Error
		require.ErrorAs(t, err, &coded)
		if coded.Code == errcode.Conflict {
			return // capturing what was not authorized
		}
		require.Equal(t, errcode.InvalidOrderData, coded.Code, err.Error())
		require.NotEmpty(t, coded.Details["field"], err.Error())
		require.Less(t, len(coded.Message), 400, "a refusal does not echo the input")
		return
	}
	for _, e := range events {
		payload, err := json.Marshal(e)
		require.NoError(t, err)
		require.LessOrEqual(t, len(payload), messages.MaxEventBytes)
		c.Apply(e)
	}
	for _, a := range []money.Amount{c.Balance(), c.Held(), c.Captured(), c.Balance() + c.Held() + c.Captured()} {
		require.True(t, a >= 0 && a <= limits.MaxBalance, "money stays within its bound: %s", a)
	}
}
