package sagas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// store keeps saga state in the sagas schema of the ordering database.
type store struct {
	pool *pgxpool.Pool
}

// lockOrder serializes everything done to one order's saga (events and
// deadlines, in every worker) until tx ends. An advisory lock rather than
// a row lock: it takes no transaction id, so the transaction holds one only
// for its final writes and never holds back the outbox relays' horizon
// while commands are being sent.
func (s store) lockOrder(ctx context.Context, tx pgx.Tx, orderID string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, sagaLockClass, orderID); err != nil {
		return fmt.Errorf("lock saga %s: %w", orderID, err)
	}
	return nil
}

// tryLockOrder is lockOrder that gives up at once if another holds it.
func (s store) tryLockOrder(ctx context.Context, tx pgx.Tx, orderID string) (bool, error) {
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1, hashtext($2))`, sagaLockClass, orderID).Scan(&ok); err != nil {
		return false, fmt.Errorf("lock saga %s: %w", orderID, err)
	}
	return ok, nil
}

// sagaLockClass keeps saga locks apart from other advisory locks.
const sagaLockClass = 0x5a6a

// processed reports whether eventID was applied already.
func (s store) processed(ctx context.Context, tx pgx.Tx, eventID string) (bool, error) {
	var done bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sagas.processed_events WHERE event_id = $1)`, eventID).Scan(&done)
	if err != nil {
		return false, fmt.Errorf("look up event %s: %w", eventID, err)
	}
	return done, nil
}

// markProcessed records eventID in tx, with the state it produced.
func (s store) markProcessed(ctx context.Context, tx pgx.Tx, eventID, orderID string) error {
	if _, err := tx.Exec(ctx, `INSERT INTO sagas.processed_events (event_id, order_id) VALUES ($1, $2)`, eventID, orderID); err != nil {
		return fmt.Errorf("record event %s of saga %s: %w", eventID, orderID, err)
	}
	return nil
}

// load reads the saga of orderID in tx (under lockOrder); nil if it has
// none yet.
func (s store) load(ctx context.Context, tx pgx.Tx, orderID string) (*State, error) {
	var raw []byte
	err := tx.QueryRow(ctx, `SELECT state FROM sagas.order_sagas WHERE order_id = $1`, orderID).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load saga %s: %w", orderID, err)
	}
	var st State
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("decode saga %s: %w", orderID, err)
	}
	return &st, nil
}

// save writes the saga in tx.
func (s store) save(ctx context.Context, tx pgx.Tx, st *State) error {
	raw, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode saga %s: %w", st.OrderID, err)
	}
	var deadline *time.Time
	if !st.Deadline.IsZero() {
		deadline = &st.Deadline
	}
	_, err = tx.Exec(ctx, `INSERT INTO sagas.order_sagas (order_id, phase, state, deadline, started_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, now())
		ON CONFLICT (order_id) DO UPDATE SET phase = excluded.phase, state = excluded.state, deadline = excluded.deadline, updated_at = now()`,
		st.OrderID, string(st.Phase), raw, deadline, st.StartedAt)
	if err != nil {
		return fmt.Errorf("save saga %s: %w", st.OrderID, err)
	}
	return nil
}

// due lists up to limit sagas whose deadline passed, oldest first.
func (s store) due(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT order_id FROM sagas.order_sagas WHERE deadline <= $1 ORDER BY deadline LIMIT $2`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("find due sagas: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("find due sagas: %w", err)
	}
	return ids, nil
}

// Get returns the saga of orderID, for tests and operators; nil if none.
func (s store) get(ctx context.Context, orderID string) (*State, error) {
	var raw []byte
	err := s.pool.QueryRow(ctx, `SELECT state FROM sagas.order_sagas WHERE order_id = $1`, orderID).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read saga %s: %w", orderID, err)
	}
	var st State
	return &st, json.Unmarshal(raw, &st)
}
