package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orderflow/orderflow/messages"
)

// eventStore reads one context's event store (<schema>.events) the way a
// run needs it: streams a page at a time, their events a chunk at a time,
// and the events that name given orders.
type eventStore struct {
	pool   *pgxpool.Pool
	schema string
	table  string
}

func newEventStore(pool *pgxpool.Pool, schema string) eventStore {
	return eventStore{pool: pool, schema: schema, table: pgx.Identifier{schema, "events"}.Sanitize()}
}

// streams returns up to limit ids of streams of streamType after the id
// after, in id order. Every stream has a first event, so the unique
// (stream_id, version) index finds them in order.
func (s eventStore) streams(ctx context.Context, streamType, after string, limit int) ([]string, error) {
	rows, _ := s.pool.Query(ctx, `SELECT stream_id FROM `+s.table+`
		WHERE stream_id > $1 AND version = 1 AND stream_type = $2
		ORDER BY stream_id LIMIT $3`, after, streamType, limit) // a failed query's error comes back from CollectRows
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list %s streams of %s after %q: %w", streamType, s.schema, after, err)
	}
	return ids, nil
}

// changed returns the ids of the streams of streamType with an event
// inserted at or after since, and those of also that exist, in id order
// (the events' BRIN index on created_at finds the recent rows).
func (s eventStore) changed(ctx context.Context, streamType string, since time.Time, also []string) ([]string, error) {
	rows, _ := s.pool.Query(ctx, `SELECT stream_id FROM `+s.table+` WHERE created_at >= $1 AND stream_type = $2
		UNION SELECT stream_id FROM `+s.table+` WHERE stream_id = ANY($3) AND version = 1 AND stream_type = $2
		ORDER BY 1`, since, streamType, also) // a failed query's error comes back from CollectRows
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list %s streams of %s changed since %s: %w", streamType, s.schema, since.Format(time.RFC3339), err)
	}
	return ids, nil
}

// storedEvent is an event as a run folds it.
type storedEvent struct {
	stream  string
	version int
	at      time.Time
	event   messages.Event
}

// read calls fn with every event of the streams ids, in stream id and
// version order, reading chunk events at a time, so a long stream is
// never held in memory.
func (s eventStore) read(ctx context.Context, ids []string, chunk int, fn func(storedEvent) error) error {
	afterStream, afterVersion := "", 0
	for {
		rows, err := s.pool.Query(ctx, `SELECT stream_id, version, event_type, data, created_at FROM `+s.table+`
			WHERE stream_id = ANY($1) AND (stream_id, version) > ($2, $3)
			ORDER BY stream_id, version LIMIT $4`, ids, afterStream, afterVersion, chunk)
		if err != nil {
			return fmt.Errorf("read %d %s streams: %w", len(ids), s.schema, err)
		}
		events, err := collectEvents(rows)
		if err != nil {
			return fmt.Errorf("read %d %s streams: %w", len(ids), s.schema, err)
		}
		for _, e := range events {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(events) < chunk {
			return nil
		}
		last := events[len(events)-1]
		afterStream, afterVersion = last.stream, last.version
	}
}

// naming returns the events of this store that name one of orderIDs in
// data->>'orderId' (reservations, holds and what became of them), in
// stream and version order. They are few per order; the events_order_id
// index finds them.
func (s eventStore) naming(ctx context.Context, orderIDs []string) ([]namedEvent, error) {
	rows, err := s.pool.Query(ctx, `SELECT stream_id, version, event_type, data, created_at FROM `+s.table+`
		WHERE data->>'orderId' = ANY($1) ORDER BY stream_id, version`, orderIDs)
	if err != nil {
		return nil, fmt.Errorf("read %s events of %d orders: %w", s.schema, len(orderIDs), err)
	}
	events, err := collectEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("read %s events of %d orders: %w", s.schema, len(orderIDs), err)
	}
	out := make([]namedEvent, len(events))
	for i, e := range events {
		out[i] = namedEvent{stream: e.stream, at: e.at, event: e.event}
	}
	return out, nil
}

// existing returns which of ids are streams of this store.
func (s eventStore) existing(ctx context.Context, ids []string) (map[string]bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT stream_id FROM `+s.table+` WHERE stream_id = ANY($1) AND version = 1`, ids)
	if err != nil {
		return nil, fmt.Errorf("look up %d %s streams: %w", len(ids), s.schema, err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("look up %d %s streams: %w", len(ids), s.schema, err)
	}
	out := make(map[string]bool, len(found))
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}

func collectEvents(rows pgx.Rows) ([]storedEvent, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (storedEvent, error) {
		var e storedEvent
		var typ string
		var data []byte
		if err := row.Scan(&e.stream, &e.version, &typ, &data, &e.at); err != nil {
			return e, err
		}
		ev, err := messages.DecodeEvent(typ, data)
		if err != nil {
			return e, fmt.Errorf("decode %s of stream %s version %d: %w", typ, e.stream, e.version, err)
		}
		e.event = ev
		return e, nil
	})
}
