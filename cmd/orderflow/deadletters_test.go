package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/deadletter"
	"github.com/orderflow/orderflow/internal/testenv"
)

// orderflow deadletters and orderflow redrive against the real servers:
// list with filters and paging, show with the audit trail, replay by id
// and by aggregate, discard with a reason.
func TestDeadLettersCommand(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	store := deadletter.NewStore(env.Pool, env.Config.Namespace, nil)
	order := uuid.NewString()
	for i, class := range []deadletter.Class{deadletter.Transient, deadletter.Waiting, deadletter.Waiting} {
		_, _, err := store.Park(ctx, deadletter.Message{
			Handler: "inventory.commands", Topic: "orderflow.inventory.commands", Offset: int64(i), Key: order,
			MessageID: uuid.NewString(), Type: "inventory.ReserveStock", Payload: []byte(`{}`),
		}, class, errors.New("database hiccup"), 1)
		require.NoError(t, err)
	}
	_, _, err := store.Park(ctx, deadletter.Message{Handler: "sagas.order.payments", Key: "other", MessageID: uuid.NewString(), Payload: []byte(`x`)},
		deadletter.Permanent, errors.New("does not decode"), 1)
	require.NoError(t, err)

	vars := []string{"ORDERFLOW_DEV=true", "ORDERFLOW_POSTGRES_URL=" + env.Config.PostgresURL, "ORDERFLOW_NAMESPACE=" + env.Config.Namespace}
	code, stdout, stderr := runBinary(t, vars, "deadletters", "list", "--aggregate", order)
	require.Equal(t, 0, code, "stderr:\n%s", stderr)
	require.Contains(t, stdout, "3 in all; inventory.commands transient: 1; inventory.commands waiting: 2")
	require.Contains(t, stdout, "database hiccup")

	code, stdout, stderr = runBinary(t, vars, "deadletters", "list", "--json", "--first", "1", "--class", "permanent")
	require.Equal(t, 0, code, "stderr:\n%s", stderr)
	var page deadletter.Page
	require.NoError(t, json.Unmarshal([]byte(stdout), &page), stdout)
	require.Equal(t, 1, page.Total)
	require.Equal(t, "sagas.order.payments", page.Entries[0].Handler)
	poison := page.Entries[0].ID

	code, stdout, _ = runBinary(t, vars, "deadletters", "list", "--first", "2")
	require.Equal(t, 0, code)
	require.Contains(t, stdout, "more: --after ")

	code, stdout, stderr = runBinary(t, vars, "deadletters", "replay", "--aggregate", order, "--actor", "ada")
	require.Equal(t, 0, code, "stderr:\n%s", stderr)
	require.Contains(t, stdout, "3 dead letters will be tried again now")

	code, stdout, stderr = runBinary(t, vars, "deadletters", "discard", fmt.Sprint(poison), "--reason", "a test producer's garbage", "--actor", "ada")
	require.Equal(t, 0, code, "stderr:\n%s", stderr)
	require.Contains(t, stdout, "discarded")

	code, stdout, stderr = runBinary(t, vars, "deadletters", "show", fmt.Sprint(poison))
	require.Equal(t, 0, code, "stderr:\n%s", stderr)
	require.Regexp(t, `status\s+discarded`, stdout)
	require.Regexp(t, `discarded\s+ada a test producer's garbage`, stdout)

	code, _, stderr = runBinary(t, vars, "deadletters", "discard", fmt.Sprint(poison), "--reason", "again")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "CONFLICT")
	code, _, stderr = runBinary(t, vars, "deadletters", "discard", fmt.Sprint(poison))
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "reason is required")
	code, _, stderr = runBinary(t, vars, "deadletters", "show", "nope")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "not a dead letter id")
	code, _, stderr = runBinary(t, vars, "redrive", uuid.NewString())
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "has no saga")
}
