package reconcile

import (
	"context"
	"fmt"
	"slices"
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
//
// Each query starts where an index scan can start: the streams not yet
// read from their first event, or the one stream a chunk ended in from
// its next version. (A single query continuing after a (stream, version)
// pair, as this did before, made PostgreSQL walk every stream of the list
// from its start and reject what was read already, for every chunk: a
// page of products with 190,000 events took 39 chunks of 1.5 s each, and
// the time grew with the square of the streams' history.)
func (s eventStore) read(ctx context.Context, ids []string, chunk int, fn func(storedEvent) error) error {
	unread := ids
	for len(unread) > 0 {
		events, err := s.query(ctx, `SELECT stream_id, version, event_type, data, created_at FROM `+s.table+`
			WHERE stream_id = ANY($1) ORDER BY stream_id, version LIMIT $2`, unread, chunk)
		if err != nil {
			return fmt.Errorf("read %d %s streams: %w", len(unread), s.schema, err)
		}
		if err := each(events, fn); err != nil || len(events) < chunk {
			return err
		}
		// The chunk holds whole streams and the start of its last one.
		// Streams of the list it passed without a row have no events.
		read := make(map[string]bool)
		for _, e := range events {
			read[e.stream] = true
		}
		unread = slices.DeleteFunc(slices.Clone(unread), func(id string) bool { return read[id] })
		last := events[len(events)-1]
		if err := s.readAfter(ctx, last.stream, last.version, chunk, fn); err != nil {
			return err
		}
	}
	return nil
}

// readAfter calls fn with the events of stream after version, in order,
// chunk at a time.
func (s eventStore) readAfter(ctx context.Context, stream string, version, chunk int, fn func(storedEvent) error) error {
	for {
		events, err := s.query(ctx, `SELECT stream_id, version, event_type, data, created_at FROM `+s.table+`
			WHERE stream_id = $1 AND version > $2 ORDER BY version LIMIT $3`, stream, version, chunk)
		if err != nil {
			return fmt.Errorf("read %s stream %s after version %d: %w", s.schema, stream, version, err)
		}
		if err := each(events, fn); err != nil || len(events) < chunk {
			return err
		}
		version = events[len(events)-1].version
	}
}

func (s eventStore) query(ctx context.Context, sql string, args ...any) ([]storedEvent, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return collectEvents(rows)
}

func each(events []storedEvent, fn func(storedEvent) error) error {
	for _, e := range events {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
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
