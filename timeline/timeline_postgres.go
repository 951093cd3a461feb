package timeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orderflow/orderflow/internal/config"
	"github.com/orderflow/orderflow/sagas"
)

// Reader reads an order's story from the event stores, inboxes and saga
// tables of every context (each context may have its own database).
type Reader struct {
	pools map[config.Context]*pgxpool.Pool
}

// NewReader reads from pools, one per context; the saga's tables live
// beside the ordering context's event store.
func NewReader(pools map[config.Context]*pgxpool.Pool) *Reader {
	return &Reader{pools: pools}
}

// Order returns the story of orderID; found is false when no context
// knows the order.
func (r *Reader) Order(ctx context.Context, orderID string) (t Timeline, found bool, err error) {
	t = Timeline{OrderID: orderID, Entries: []Entry{}}
	for _, c := range config.Contexts() {
		es, err := r.events(ctx, c, orderID)
		if err != nil {
			return Timeline{}, false, err
		}
		t.Entries = append(t.Entries, es...)
	}
	saga, err := r.saga(ctx, orderID)
	if err != nil {
		return Timeline{}, false, err
	}
	if saga != nil {
		t.Saga = saga.summary
		t.Entries = append(t.Entries, saga.entries...)
		for _, c := range config.Contexts() {
			es, err := r.commands(ctx, c, saga.commandIDs)
			if err != nil {
				return Timeline{}, false, err
			}
			t.Entries = append(t.Entries, es...)
		}
	}
	nameAppliedEvents(t.Entries)
	sortEntries(t.Entries)
	return t, len(t.Entries) > 0, nil
}

// nameAppliedEvents names the event each "saga applied" entry is about.
func nameAppliedEvents(es []Entry) {
	types := map[string]string{}
	for _, e := range es {
		if e.Kind == KindEvent {
			types[e.ID] = e.Name
		}
	}
	for i, e := range es {
		if e.Kind == KindSaga && e.Name == sagaApplied {
			if name, ok := types[e.CausationID]; ok {
				es[i].Detail = name
			}
		}
	}
}

// sagaApplied names the entry of an event the saga applied.
const sagaApplied = "saga applied event"

// events reads the events of the order's own stream and those naming it
// in their data (reservations, holds and what became of them).
func (r *Reader) events(ctx context.Context, c config.Context, orderID string) ([]Entry, error) {
	table := pgx.Identifier{string(c), "events"}.Sanitize()
	rows, err := r.pools[c].Query(ctx, `SELECT event_id::text, stream_id, version, event_type, data::text,
			coalesce(metadata->>'trace_id', ''), coalesce(correlation_id, ''), coalesce(causation_id, ''), created_at
		FROM `+table+` WHERE stream_id = $1 OR data->>'orderId' = $1
		ORDER BY created_at, stream_id, version`, orderID)
	if err != nil {
		return nil, fmt.Errorf("read %s events of order %s: %w", c, orderID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Entry, error) {
		e := Entry{Context: string(c), Kind: KindEvent}
		err := row.Scan(&e.ID, &e.Stream, &e.Version, &e.Name, &e.Detail, &e.TraceID, &e.CorrelationID, &e.CausationID, &e.At)
		e.Failure = failedEvent(e.Name)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("read %s events of order %s: %w", c, orderID, err)
	}
	return out, nil
}

// failedEvent tells the events that record a refusal, a failure or an
// undoing by their names (StockReservationFailed, PaymentDeclined,
// StockReleased, PaymentVoided, OrderCancelled, OrderFailed, ...).
func failedEvent(name string) bool {
	for _, w := range []string{"Failed", "Declined", "Rejected", "Refused", "Released", "Voided", "Cancelled", "Compensat"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// commands reads the inbox rows of the given message ids: what the
// context handled for the order, and what it refused with which code.
func (r *Reader) commands(ctx context.Context, c config.Context, ids []string) ([]Entry, error) {
	table := pgx.Identifier{string(c), "inbox"}.Sanitize()
	rows, err := r.pools[c].Query(ctx, `SELECT handler, message_id, stream_id, coalesce(error_code, ''),
			coalesce(error_message, ''), processed_at
		FROM `+table+` WHERE message_id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("read %s inbox: %w", c, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Entry, error) {
		e := Entry{Context: string(c), Kind: KindCommand}
		var code, msg string
		err := row.Scan(&e.Name, &e.ID, &e.Stream, &code, &msg, &e.At)
		if code != "" {
			e.Failure = true
			e.Detail = "refused: " + code + ": " + msg
		}
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("read %s inbox: %w", c, err)
	}
	return out, nil
}

type sagaStory struct {
	summary    *Saga
	entries    []Entry
	commandIDs []string
}

// saga reads the saga's state and the events it applied; nil when the
// order has no saga.
func (r *Reader) saga(ctx context.Context, orderID string) (*sagaStory, error) {
	pool := r.pools[config.Ordering]
	var raw []byte
	var updated time.Time
	err := pool.QueryRow(ctx, `SELECT state, updated_at FROM sagas.order_sagas WHERE order_id = $1`, orderID).Scan(&raw, &updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read saga of order %s: %w", orderID, err)
	}
	var st sagas.State
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("decode saga of order %s: %w", orderID, err)
	}
	s := &sagaStory{summary: &Saga{
		Phase: string(st.Phase), Outcome: string(st.Outcome), Attempts: st.Attempts, Deadline: st.Deadline,
		StartedAt: st.StartedAt, EndedAt: st.EndedAt, UpdatedAt: updated, Compensations: st.Compensations,
	}}
	for _, step := range st.CompletedSteps() {
		s.summary.Completed = append(s.summary.Completed, string(step))
	}
	s.entries = append(s.entries, Entry{At: st.StartedAt, Context: "saga", Kind: KindSaga, Name: "saga started",
		CorrelationID: orderID, Detail: fmt.Sprintf("amount %v, %d line(s)", st.Amount, len(st.Lines))})
	if f := st.Failure; f != nil {
		s.summary.Failure = fmt.Sprintf("%s: %s", f.Code, f.Message)
		if f.Code == "" {
			s.summary.Failure = f.Message
		}
	}
	if !st.EndedAt.IsZero() {
		s.entries = append(s.entries, Entry{At: st.EndedAt, Context: "saga", Kind: KindSaga, Name: "saga ended " + string(st.Outcome),
			CorrelationID: orderID, Detail: s.summary.Failure, Failure: st.Outcome != sagas.OutcomeConfirmed})
	}
	if !st.Deadline.IsZero() {
		s.entries = append(s.entries, Entry{At: st.Deadline, Context: "saga", Kind: KindSaga, Name: "deadline " + string(st.Phase),
			CorrelationID: orderID, Detail: fmt.Sprintf("attempt %d; when it passes the phase's commands are sent again or given up", st.Attempts)})
	}
	applied, err := pool.Query(ctx, `SELECT u.event_id::text, u.at FROM sagas.order_sagas s, unnest(s.applied, s.applied_at) AS u(event_id, at)
		WHERE s.order_id = $1`, orderID)
	if err != nil {
		return nil, fmt.Errorf("read events the saga of order %s applied: %w", orderID, err)
	}
	es, err := pgx.CollectRows(applied, func(row pgx.CollectableRow) (Entry, error) {
		e := Entry{Context: "saga", Kind: KindSaga, Name: sagaApplied, CorrelationID: orderID}
		err := row.Scan(&e.CausationID, &e.At)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("read events the saga of order %s applied: %w", orderID, err)
	}
	s.entries = append(s.entries, es...)
	s.commandIDs = sagas.CommandIDs(orderID, st)
	return s, nil
}
