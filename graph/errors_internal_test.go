package graph

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/errcode"
)

// An INTERNAL error hides its message, except a deliberate retryable
// refusal (at capacity), whose message and retryable flag reach the client.
func TestRetryableInternalErrorsKeepTheirMessage(t *testing.T) {
	t.Parallel()
	p := errorPresenter{logger: slog.New(slog.DiscardHandler)}

	hidden := p.present(context.Background(), errcode.New(errcode.Internal, "pool exhausted at 10.0.0.7"))
	require.Equal(t, "INTERNAL", hidden.Extensions["code"])
	require.NotContains(t, hidden.Message, "10.0.0.7")
	require.NotContains(t, hidden.Extensions, "retryable")

	refused := p.present(context.Background(), errcode.New(errcode.Internal, "orderflow is at capacity: nothing was recorded; retry later").Retryable())
	require.Equal(t, "INTERNAL", refused.Extensions["code"])
	require.Equal(t, "orderflow is at capacity: nothing was recorded; retry later", refused.Message)
	require.Equal(t, true, refused.Extensions["retryable"])
}
