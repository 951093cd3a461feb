package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/sagas"
)

// orderflow redrive prints the phase before and after, the outcome of a
// saga it finished, and each command it sent with its new message id.
func TestPrintRedrive(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	printRedrive(&out, app.SagaRedrive{OrderID: "o-1", Phase: sagas.PhaseParked, Now: sagas.PhaseCompensating,
		Sent: []sagas.Command{{ID: "m-1", Message: messages.ReleaseStock{ProductID: "p-1", OrderID: "o-1"}}}})
	require.Equal(t, "order o-1: saga re-driven from phase PARKED, now COMPENSATING; 1 commands sent under new message ids\n"+
		"  m-1  inventory.ReleaseStock\n", out.String())

	out.Reset()
	printRedrive(&out, app.SagaRedrive{OrderID: "o-2", Phase: sagas.PhaseParked, Now: sagas.PhaseDone, Outcome: sagas.OutcomeFailed})
	require.Equal(t, "order o-2: saga re-driven from phase PARKED, now DONE (failed); 0 commands sent under new message ids\n", out.String())
}
