package outbox

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/internal/tracing"
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
	table   string
	blocked string
	relay   string
}

func newEventReader(schema, relay string) eventReader {
	return eventReader{
		table:   pgx.Identifier{schema, "events"}.Sanitize(),
		blocked: pgx.Identifier{schema, "relay_blocked_streams"}.Sanitize(),
		relay:   relay,
	}
}

// readResult is what one read finds.
type readResult struct {
	// batch is the next events to publish, in commit order.
	batch []eventstore.Record
	// heldAt is the append time of the first event held at or above the
	// horizon (zero if none).
	heldAt time.Time
	// retry is a blocked stream an operator asked to retry, if any.
	retry *blockedHead
}

// blockedHead names a blocked stream and its first unpublished event.
type blockedHead struct {
	streamID string
	version  int
}

// read returns, in one statement, up to limit events after cp whose
// transaction id is below the horizon of the statement's own snapshot, in
// (transaction_id, position) order and leaving out the relay's blocked
// streams, the append time of the first event held at or above that
// horizon, and one blocked stream whose retry an operator requested.
//
// pg_current_snapshot() inside a statement is the statement's snapshot, so
// its xmin is a horizon as described above for the rows the statement
// sees. The bigint copy of transaction_id is named txid so that ORDER BY
// transaction_id means the column, which the events_relay_order index
// returns in order, not the copy, which would sort the whole backlog. Held events wait behind a transaction that was still open; they
// become publishable when it ends, which notifies nobody if it rolls back
// or wrote no events, so the relay re-polls soon. The held event is only
// reported (relay_lag_seconds), never published from here.
//
// The checkpoint moves past the events of a blocked stream without
// publishing them: they are the blocked stream's, published by retryBlocked
// (readStream up to the checkpoint) before the stream rejoins this read.
//
// save, when not nil, is a checkpoint statement (checkpointStore.saveQuery)
// sent behind the read in the same round trip and implicit transaction.
// It must come second: the read takes its snapshot, and with it the
// horizon, before the checkpoint's INSERT assigns the transaction an id,
// so the horizon is exactly what a read on its own would see (a
// transaction holding an id would hold the horizon at that id). An error
// of either statement fails both, and the checkpoint is not stored.
func (r eventReader) read(ctx context.Context, conn *pgx.Conn, cp checkpoint, limit int, save *pgx.QueuedQuery) (readResult, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	b := &pgx.Batch{}
	b.Queue(`WITH h AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
		(SELECT 'event' AS kind, position, event_id, stream_id, stream_type, version, event_type, data,
			coalesce(correlation_id, ''), coalesce(causation_id, ''), transaction_id::text::bigint AS txid, created_at,
			`+traceColumns()+`
		FROM `+r.table+` e
		WHERE (transaction_id, position) > ($1::text::xid8, $2)
		  AND transaction_id < (SELECT xmin FROM h)
		  AND NOT EXISTS (SELECT FROM `+r.blocked+` b WHERE b.relay = $4 AND b.stream_id = e.stream_id)
		ORDER BY transaction_id, position
		LIMIT $3)
		UNION ALL
		(SELECT 'held', position, event_id, stream_id, stream_type, version, event_type, '{}'::jsonb,
			'', '', transaction_id::text::bigint AS txid, created_at, '', ''
		FROM `+r.table+`
		WHERE transaction_id >= (SELECT xmin FROM h)
		ORDER BY transaction_id, position
		LIMIT 1)
		UNION ALL
		(SELECT 'retry', position, event_id, stream_id, '', version, event_type, '{}'::jsonb,
			'', '', transaction_id::text::bigint, retry_requested_at, '', ''
		FROM `+r.blocked+`
		WHERE relay = $4 AND retry_requested_at IS NOT NULL
		ORDER BY retry_requested_at
		LIMIT 1)`,
		strconv.FormatUint(cp.TransactionID, 10), cp.Position, limit, r.relay)
	if save != nil {
		b.QueuedQueries = append(b.QueuedQueries, save)
	}
	br := conn.SendBatch(ctx, b)
	out, err := r.scan(br, cp, save != nil)
	if closeErr := br.Close(); err == nil && closeErr != nil {
		err = fmt.Errorf("read events after %d/%d: %w", cp.TransactionID, cp.Position, closeErr)
	}
	if err != nil {
		return readResult{}, err
	}
	return out, nil
}

// scan reads the batch results of read: the read's rows, then the
// checkpoint's result if one was queued (saved).
func (r eventReader) scan(br pgx.BatchResults, cp checkpoint, saved bool) (readResult, error) {
	rows, err := br.Query()
	if err != nil {
		return readResult{}, fmt.Errorf("read events after %d/%d: %w", cp.TransactionID, cp.Position, err)
	}
	defer rows.Close()
	var out readResult
	for rows.Next() {
		var rec eventstore.Record
		var kind, traceParent, traceState string
		var txid int64
		if err := rows.Scan(&kind, &rec.Position, &rec.EventID, &rec.StreamID, &rec.StreamType, &rec.Version, &rec.EventType, &rec.Data,
			&rec.CorrelationID, &rec.CausationID, &txid, &rec.CreatedAt, &traceParent, &traceState); err != nil {
			return readResult{}, fmt.Errorf("read events after %d/%d: %w", cp.TransactionID, cp.Position, err)
		}
		switch kind {
		case "held":
			out.heldAt = rec.CreatedAt
		case "retry":
			out.retry = &blockedHead{streamID: rec.StreamID, version: rec.Version}
		default:
			rec.TransactionID = uint64(txid)
			rec.Metadata = traceMetadata(traceParent, traceState)
			out.batch = append(out.batch, rec)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return readResult{}, fmt.Errorf("read events after %d/%d: %w", cp.TransactionID, cp.Position, err)
	}
	if saved {
		if _, err := br.Exec(); err != nil {
			return readResult{}, fmt.Errorf("save checkpoint %d/%d: %w", cp.TransactionID, cp.Position, err)
		}
	}
	return out, nil
}

// readStream returns up to limit events of one stream from version on,
// in order, up to and including the checkpoint: the events of a blocked
// stream that read left behind.
func (r eventReader) readStream(ctx context.Context, conn *pgx.Conn, streamID string, fromVersion int, upTo checkpoint, limit int) ([]eventstore.Record, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	rows, err := conn.Query(ctx, `SELECT position, event_id, stream_id, stream_type, version, event_type, data,
			coalesce(correlation_id, ''), coalesce(causation_id, ''), transaction_id::text::bigint, created_at,
			`+traceColumns()+`
		FROM `+r.table+`
		WHERE stream_id = $1 AND version >= $2 AND (transaction_id, position) <= ($3::text::xid8, $4)
		ORDER BY version
		LIMIT $5`,
		streamID, fromVersion, strconv.FormatUint(upTo.TransactionID, 10), upTo.Position, limit)
	if err != nil {
		return nil, fmt.Errorf("read blocked stream %s from version %d: %w", streamID, fromVersion, err)
	}
	records, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (eventstore.Record, error) {
		var rec eventstore.Record
		var txid int64
		var traceParent, traceState string
		err := row.Scan(&rec.Position, &rec.EventID, &rec.StreamID, &rec.StreamType, &rec.Version, &rec.EventType, &rec.Data,
			&rec.CorrelationID, &rec.CausationID, &txid, &rec.CreatedAt, &traceParent, &traceState)
		rec.TransactionID = uint64(txid)
		rec.Metadata = traceMetadata(traceParent, traceState)
		return rec, err
	})
	if err != nil {
		return nil, fmt.Errorf("read blocked stream %s from version %d: %w", streamID, fromVersion, err)
	}
	return records, nil
}

// traceColumns selects an event's trace context when tracing is on, and
// nothing (two empty strings) when it is off: no cost then.
func traceColumns() string {
	if !tracing.Enabled() {
		return `'', ''`
	}
	return `coalesce(metadata->>'traceparent', ''), coalesce(metadata->>'tracestate', '')`
}

// traceMetadata is the trace context an event was recorded in (when
// tracing was on), the only metadata the relay forwards as record headers;
// nil when the event has none.
func traceMetadata(traceParent, traceState string) map[string]string {
	if traceParent == "" {
		return nil
	}
	m := map[string]string{tracing.HeaderTraceParent: traceParent}
	if traceState != "" {
		m[tracing.HeaderTraceState] = traceState
	}
	return m
}
