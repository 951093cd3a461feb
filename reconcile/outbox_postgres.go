package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// backlog reads what one context's relay has not published: the events
// after its checkpoint (<schema>.relay_checkpoints, the last published
// (transaction_id, position)) and the events of its blocked streams that
// the checkpoint moved past without publishing them
// (<schema>.relay_blocked_streams, from the refused event on).
type backlog struct {
	pool   *pgxpool.Pool
	schema string
	relay  string
}

// pendingEvent is an event the relay has not published.
type pendingEvent struct {
	eventID    string
	streamID   string
	streamType string
	version    int
	eventType  string
	at         time.Time
}

// unpublished counts the unpublished events appended before cutoff and
// returns the oldest limit of them, in the relay's order.
func (o backlog) unpublished(ctx context.Context, cutoff time.Time, limit int) (int, []pendingEvent, error) {
	events := pgx.Identifier{o.schema, "events"}.Sanitize()
	checkpoints := pgx.Identifier{o.schema, "relay_checkpoints"}.Sanitize()
	blocked := pgx.Identifier{o.schema, "relay_blocked_streams"}.Sanitize()
	rows, err := o.pool.Query(ctx, `WITH cp AS MATERIALIZED (
			SELECT coalesce((SELECT transaction_id FROM `+checkpoints+` WHERE relay = $1), '0'::xid8) AS txid,
			       coalesce((SELECT position FROM `+checkpoints+` WHERE relay = $1), 0) AS pos),
		pending AS (
			SELECT e.event_id, e.stream_id, e.stream_type, e.version, e.event_type, e.created_at, e.transaction_id, e.position
			FROM `+events+` e, cp
			WHERE (e.transaction_id, e.position) > (cp.txid, cp.pos) AND e.created_at < $2
			UNION ALL
			SELECT e.event_id, e.stream_id, e.stream_type, e.version, e.event_type, e.created_at, e.transaction_id, e.position
			FROM `+blocked+` b JOIN `+events+` e ON e.stream_id = b.stream_id AND e.version >= b.version, cp
			WHERE b.relay = $1 AND (e.transaction_id, e.position) <= (cp.txid, cp.pos) AND e.created_at < $2)
		SELECT count(*) OVER (), event_id::text, stream_id, stream_type, version, event_type, created_at
		FROM pending ORDER BY transaction_id, position LIMIT $3`, o.relay, cutoff, limit)
	if err != nil {
		return 0, nil, fmt.Errorf("find unpublished %s events: %w", o.schema, err)
	}
	total := 0
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (pendingEvent, error) {
		var e pendingEvent
		err := row.Scan(&total, &e.eventID, &e.streamID, &e.streamType, &e.version, &e.eventType, &e.at)
		return e, err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("find unpublished %s events: %w", o.schema, err)
	}
	return total, out, nil
}
