package outbox

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/command/eventstore"
)

// eventReader reads the committed events of one schema in commit order.
//
// # Why no event is ever skipped
//
// Positions come from an identity column, handed out when a row is inserted,
// not when its transaction commits: a transaction that inserted position 7
// can commit after another one that inserted position 9 has committed. A
// relay that remembered "published up to position 9" would skip 7 forever;
// one that waits N seconds for gaps to fill guesses, and guesses wrong under
// a long transaction.
//
// The relay orders by (transaction_id, position) instead, and only reads
// rows whose transaction id is below the horizon: the xmin of a snapshot,
// pg_snapshot_xmin(pg_current_snapshot()), the oldest transaction id that
// was still running when the snapshot was taken. Every transaction below the
// horizon has ended, committed or aborted, so
//
//  1. every row with transaction_id < horizon is committed and visible to
//     any later snapshot, and no such row can ever appear again: the set of
//     rows below a horizon is final;
//  2. a transaction that has not committed yet, or one that has not even
//     been assigned its id yet, has an id >= horizon (a new id is always
//     above every id of every earlier snapshot), so it can only add rows
//     above the horizon;
//  3. horizons never move back: a later snapshot's xmin is at least the
//     xmin of an earlier one.
//
// Reading (transaction_id, position) > checkpoint below the horizon, in
// that order, therefore reads a prefix of a final, totally ordered set, and
// the checkpoint (the last row published) only ever moves through rows of
// that set. An event whose transaction commits after a higher position was
// already visible, and even after that higher position was published, has a
// transaction id that was running at the time, so at or above that
// horizon, so above the checkpoint: it is read and published the moment its
// transaction and every older one have ended, never skipped.
//
// Two properties follow. Events are published in transaction id order,
// which for one stream is version order (see package eventstore). And a
// long-running writing transaction anywhere in the PostgreSQL cluster
// (transaction ids are cluster-wide) holds back the relay of every context
// until it ends: relay_lag_seconds shows it, nothing is lost.
type eventReader struct {
	table string
}

func newEventReader(schema string) eventReader {
	return eventReader{table: pgx.Identifier{schema, "events"}.Sanitize()}
}

// read returns, in one statement, up to limit events after cp whose
// transaction id is below the horizon of the statement's own snapshot, in
// (transaction_id, position) order, and the append time of the first
// event held at or above that horizon (zero if none).
//
// pg_current_snapshot() inside a statement is the statement's snapshot, so
// its xmin is a horizon as described above for the rows the statement
// sees. Held events wait behind a transaction that was still open; they
// become publishable when it ends, which notifies nobody if it rolls back
// or wrote no events, so the relay re-polls soon. The held event is only
// reported (relay_lag_seconds), never published from here.
func (r eventReader) read(ctx context.Context, conn *pgx.Conn, cp checkpoint, limit int) ([]eventstore.Record, time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	rows, err := conn.Query(ctx, `WITH h AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
		(SELECT false AS held, position, event_id, stream_id, stream_type, version, event_type, data,
			coalesce(correlation_id, ''), coalesce(causation_id, ''), transaction_id::text::bigint, created_at
		FROM `+r.table+`
		WHERE (transaction_id, position) > ($1::text::xid8, $2)
		  AND transaction_id < (SELECT xmin FROM h)
		ORDER BY transaction_id, position
		LIMIT $3)
		UNION ALL
		(SELECT true, position, event_id, stream_id, stream_type, version, event_type, '{}'::jsonb,
			'', '', transaction_id::text::bigint, created_at
		FROM `+r.table+`
		WHERE transaction_id >= (SELECT xmin FROM h)
		ORDER BY transaction_id, position
		LIMIT 1)`,
		strconv.FormatUint(cp.TransactionID, 10), cp.Position, limit)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("read events after %d/%d: %w", cp.TransactionID, cp.Position, err)
	}
	defer rows.Close()
	var out []eventstore.Record
	var heldAt time.Time
	for rows.Next() {
		var rec eventstore.Record
		var held bool
		var txid int64
		if err := rows.Scan(&held, &rec.Position, &rec.EventID, &rec.StreamID, &rec.StreamType, &rec.Version, &rec.EventType, &rec.Data,
			&rec.CorrelationID, &rec.CausationID, &txid, &rec.CreatedAt); err != nil {
			return nil, time.Time{}, fmt.Errorf("read events after %d/%d: %w", cp.TransactionID, cp.Position, err)
		}
		if held {
			heldAt = rec.CreatedAt
			continue
		}
		rec.TransactionID = uint64(txid)
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, fmt.Errorf("read events after %d/%d: %w", cp.TransactionID, cp.Position, err)
	}
	return out, heldAt, nil
}
