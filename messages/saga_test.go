package messages_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/messages"
)

func TestSagaSteps(t *testing.T) {
	t.Parallel()

	steps := messages.AllSagaSteps()
	require.Equal(t, []messages.SagaStep{"ORDER_CREATED", "INVENTORY_RESERVED", "PAYMENT_AUTHORIZED", "ORDER_CONFIRMED"}, steps)
	for i, s := range steps {
		require.Equal(t, i, s.Index())
		require.True(t, s.Valid())
	}
	require.Equal(t, -1, messages.SagaStep("SHIPPED").Index())
	require.False(t, messages.SagaStep("").Valid())

	steps[0] = "mutated"
	require.Equal(t, messages.StepOrderCreated, messages.AllSagaSteps()[0], "AllSagaSteps returns a copy")
}

func TestOrderStatusTerminal(t *testing.T) {
	t.Parallel()

	tests := []struct {
		status   messages.OrderStatus
		terminal bool
	}{
		{"PENDING", false},
		{"PROCESSING", false},
		{"CONFIRMED", true},
		{"CANCELLED", true},
		{"FAILED", true},
	}
	for _, tt := range tests {
		require.Equal(t, tt.terminal, tt.status.Terminal(), tt.status)
	}
	require.Equal(t, messages.OrderStatus("PENDING"), messages.StatusPending)
	require.Equal(t, messages.OrderStatus("PROCESSING"), messages.StatusProcessing)
	require.Equal(t, messages.OrderStatus("CONFIRMED"), messages.StatusConfirmed)
	require.Equal(t, messages.OrderStatus("CANCELLED"), messages.StatusCancelled)
	require.Equal(t, messages.OrderStatus("FAILED"), messages.StatusFailed)
}
