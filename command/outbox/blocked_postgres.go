package outbox

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/command/eventstore"
)

// blockedStore keeps the relay's blocked streams in
// <schema>.relay_blocked_streams, one row per stream whose first
// unpublished event the broker refused for good. Like the checkpoint it is
// written on the lock session only.
type blockedStore struct {
	table string
	relay string
}

func newBlockedStore(schema, relay string) blockedStore {
	return blockedStore{table: pgx.Identifier{schema, "relay_blocked_streams"}.Sanitize(), relay: relay}
}

// count returns how many streams the relay has blocked.
func (s blockedStore) count(ctx context.Context, conn *pgx.Conn) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+s.table+` WHERE relay = $1`, s.relay).Scan(&n); err != nil {
		return 0, fmt.Errorf("count blocked streams of relay %s: %w", s.relay, err)
	}
	return n, nil
}

// block records that the broker refused e, the first unpublished event of
// its stream. On a stream already blocked (a retry refused again) it moves
// the row to e and clears the retry request. It reports whether the stream
// was newly blocked.
func (s blockedStore) block(ctx context.Context, conn *pgx.Conn, e eventstore.Record, r Refusal) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	var inserted bool
	err := conn.QueryRow(ctx, `INSERT INTO `+s.table+` AS b
			(relay, stream_id, event_id, event_type, version, transaction_id, position, size_bytes, error)
		VALUES ($1, $2, $3, $4, $5, $6::text::xid8, $7, $8, $9)
		ON CONFLICT (relay, stream_id) DO UPDATE SET
			event_id = excluded.event_id, event_type = excluded.event_type, version = excluded.version,
			transaction_id = excluded.transaction_id, position = excluded.position,
			size_bytes = excluded.size_bytes, error = excluded.error,
			refusals = b.refusals + 1, refused_at = now(), retry_requested_at = NULL
		RETURNING xmax = 0`,
		s.relay, e.StreamID, e.EventID, e.EventType, e.Version, strconv.FormatUint(e.TransactionID, 10), e.Position, r.Size, r.Err.Error(),
	).Scan(&inserted)
	if err != nil {
		return false, fmt.Errorf("block stream %s at event %s: %w", e.StreamID, e.EventID, err)
	}
	return inserted, nil
}

// unblock deletes the row of a stream whose waiting events are all
// published: the stream rejoins the relay's read.
func (s blockedStore) unblock(ctx context.Context, conn *pgx.Conn, streamID string) error {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	if _, err := conn.Exec(ctx, `DELETE FROM `+s.table+` WHERE relay = $1 AND stream_id = $2`, s.relay, streamID); err != nil {
		return fmt.Errorf("unblock stream %s: %w", streamID, err)
	}
	return nil
}
