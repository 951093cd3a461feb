package outbox

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orderflow/orderflow/internal/deadletter"
)

// OwnDeadLetters makes schema's relay (DefaultName, its table in pool) the
// owner of its blocked streams in the dead-letter store: replaying one asks
// the active relay to retry the stream, which publishes its waiting events
// in order and resolves the dead letter, or records the refusal again. A
// stream published meanwhile is resolved at once.
func OwnDeadLetters(store *deadletter.Store, pool *pgxpool.Pool, schema string) {
	handler := DeadLetterHandler(schema)
	table := pgx.Identifier{schema, "relay_blocked_streams"}.Sanitize()
	store.SetOwner(handler, deadletter.Owner{Replay: func(ctx context.Context, streamID string) error {
		tag, err := pool.Exec(ctx, `UPDATE `+table+` SET retry_requested_at = now() WHERE relay = $1 AND stream_id = $2`,
			DefaultName, streamID)
		if err != nil {
			return fmt.Errorf("ask the %s relay to retry stream %s: %w", schema, streamID, err)
		}
		if tag.RowsAffected() == 0 {
			return store.Resolve(ctx, handler, streamID)
		}
		return nil
	}})
}
