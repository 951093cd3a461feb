package errcode_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/errcode"
)

func TestCodesAreStable(t *testing.T) {
	t.Parallel()

	want := []string{
		"INVALID_ORDER_DATA", "INVENTORY_UNAVAILABLE", "PAYMENT_FAILED", "SAGA_TIMEOUT",
		"COMPENSATION_FAILED", "NOT_FOUND", "CONFLICT", "UNAUTHENTICATED", "FORBIDDEN", "INTERNAL",
	}
	got := make([]string, 0, len(want))
	for _, c := range errcode.Codes() {
		require.True(t, c.Valid())
		got = append(got, c.String())
	}
	require.Equal(t, want, got)
	require.False(t, errcode.Code("TEAPOT").Valid())
	require.False(t, errcode.Code("").Valid())
}

func TestNew(t *testing.T) {
	t.Parallel()

	err := errcode.New(errcode.NotFound, "order %s not found", "o-1")
	require.Equal(t, errcode.NotFound, err.Code)
	require.Equal(t, "order o-1 not found", err.Message)
	require.Equal(t, "NOT_FOUND: order o-1 not found", err.Error())
	require.Nil(t, err.Details)
	require.NoError(t, err.Unwrap())
	require.Equal(t, "CONFLICT", (&errcode.Error{Code: errcode.Conflict}).Error())
}

func TestNewWrapsWithPercentW(t *testing.T) {
	t.Parallel()

	err := errcode.New(errcode.Internal, "load order %s: %w", "o-1", io.ErrUnexpectedEOF)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.Equal(t, "load order o-1: unexpected EOF", err.Message)

	multi := errcode.New(errcode.Internal, "two: %w, %w", io.EOF, io.ErrClosedPipe)
	require.ErrorIs(t, multi, io.EOF)
	require.ErrorIs(t, multi, io.ErrClosedPipe)
}

func TestOf(t *testing.T) {
	t.Parallel()

	conflict := errcode.New(errcode.Conflict, "already placed")
	tests := []struct {
		name string
		err  error
		want errcode.Code
	}{
		{name: "nil", err: nil, want: ""},
		{name: "plain error", err: errors.New("boom"), want: errcode.Internal},
		{name: "coded", err: conflict, want: errcode.Conflict},
		{name: "wrapped once", err: fmt.Errorf("place order: %w", conflict), want: errcode.Conflict},
		{name: "wrapped twice", err: fmt.Errorf("handle: %w", fmt.Errorf("place: %w", conflict)), want: errcode.Conflict},
		{name: "joined", err: errors.Join(errors.New("other"), conflict), want: errcode.Conflict},
		{
			name: "outermost code wins",
			err:  errcode.New(errcode.PaymentFailed, "authorize: %w", errcode.New(errcode.NotFound, "customer")),
			want: errcode.PaymentFailed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, errcode.Of(tt.err))
			if tt.err != nil {
				require.True(t, errcode.Is(tt.err, tt.want))
			}
		})
	}
	require.False(t, errcode.Is(nil, errcode.Internal))
	require.False(t, errcode.Is(conflict, errcode.NotFound))
}

func TestWithCopies(t *testing.T) {
	t.Parallel()

	base := errcode.New(errcode.InvalidOrderData, "quantity must be positive")
	one := base.With("field", "items[0].quantity")
	two := one.With("value", -1)

	require.Nil(t, base.Details)
	require.Equal(t, map[string]any{"field": "items[0].quantity"}, one.Details)
	require.Equal(t, map[string]any{"field": "items[0].quantity", "value": -1}, two.Details)
	require.Equal(t, base.Code, two.Code)
	require.Equal(t, base.Message, two.Message)
}
