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

// markProcessed records eventID in tx and reports whether it is new; a
// redelivered event is not.
func (s store) markProcessed(ctx context.Context, tx pgx.Tx, eventID, orderID string) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO sagas.processed_events (event_id, order_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, eventID, orderID)
	if err != nil {
		return false, fmt.Errorf("record event %s of saga %s: %w", eventID, orderID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// lock loads and locks the saga of orderID in tx; nil if it has none yet.
func (s store) lock(ctx context.Context, tx pgx.Tx, orderID string) (*State, error) {
	var raw []byte
	err := tx.QueryRow(ctx, `SELECT state FROM sagas.order_sagas WHERE order_id = $1 FOR UPDATE`, orderID).Scan(&raw)
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

// lockDue locks up to limit sagas whose deadline passed; sagas another
// processor holds are skipped, so several workers share the work.
func (s store) lockDue(ctx context.Context, tx pgx.Tx, now time.Time, limit int) ([]*State, error) {
	rows, err := tx.Query(ctx, `SELECT state FROM sagas.order_sagas WHERE deadline <= $1 ORDER BY deadline LIMIT $2 FOR UPDATE SKIP LOCKED`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("find due sagas: %w", err)
	}
	defer rows.Close()
	var out []*State
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("find due sagas: %w", err)
		}
		var st State
		if err := json.Unmarshal(raw, &st); err != nil {
			return nil, fmt.Errorf("decode due saga: %w", err)
		}
		out = append(out, &st)
	}
	return out, rows.Err()
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
