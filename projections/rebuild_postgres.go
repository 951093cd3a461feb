package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// RebuildState is one rebuild as recorded in projections.rebuilds.
type RebuildState struct {
	ID         int64
	Projection Name
	Alias      string
	// Target is the index the rebuild fills.
	Target string
	// Previous is the index the alias pointed at before the swap.
	Previous string
	// Phase is copying (unfinished, resumable), done or cancelled.
	Phase string
	// Position is the last event store position projected into Target.
	Position   int64
	Events     int64
	StartedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt *time.Time
}

const (
	phaseCopying   = "copying"
	phaseDone      = "done"
	phaseCancelled = "cancelled"
)

// rebuildStore keeps rebuild progress in one context's database.
type rebuildStore struct{ pool *pgxpool.Pool }

const rebuildColumns = `id, projection, alias, target_index, coalesce(previous_index, ''), phase, position, events, started_at, updated_at, finished_at`

func scanRebuild(row pgx.Row) (*RebuildState, error) {
	var s RebuildState
	var name string
	if err := row.Scan(&s.ID, &name, &s.Alias, &s.Target, &s.Previous, &s.Phase, &s.Position, &s.Events, &s.StartedAt, &s.UpdatedAt, &s.FinishedAt); err != nil {
		return nil, err
	}
	s.Projection = Name(name)
	return &s, nil
}

// open returns the unfinished rebuild of alias, nil if none.
func (s rebuildStore) open(ctx context.Context, alias string) (*RebuildState, error) {
	st, err := scanRebuild(s.pool.QueryRow(ctx, `SELECT `+rebuildColumns+` FROM projections.rebuilds WHERE alias = $1 AND phase = 'copying'`, alias))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read open rebuild of %s: %w", alias, err)
	}
	return st, nil
}

// latest returns the newest rebuild of alias in any phase, nil if none.
func (s rebuildStore) latest(ctx context.Context, alias string) (*RebuildState, error) {
	st, err := scanRebuild(s.pool.QueryRow(ctx, `SELECT `+rebuildColumns+` FROM projections.rebuilds WHERE alias = $1 ORDER BY id DESC LIMIT 1`, alias))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read rebuilds of %s: %w", alias, err)
	}
	return st, nil
}

func (s rebuildStore) start(ctx context.Context, n Name, alias, target, previous string) (*RebuildState, error) {
	st, err := scanRebuild(s.pool.QueryRow(ctx, `INSERT INTO projections.rebuilds (projection, alias, target_index, previous_index, phase)
		VALUES ($1, $2, $3, nullif($4, ''), 'copying') RETURNING `+rebuildColumns, string(n), alias, target, previous))
	if err != nil {
		return nil, fmt.Errorf("record rebuild of %s into %s: %w", alias, target, err)
	}
	return st, nil
}

func (s rebuildStore) progress(ctx context.Context, id, position, events int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE projections.rebuilds SET position = $2, events = $3, updated_at = now() WHERE id = $1`, id, position, events)
	if err != nil {
		return fmt.Errorf("record rebuild progress: %w", err)
	}
	return nil
}

func (s rebuildStore) finish(ctx context.Context, id int64, phase, previous string) error {
	_, err := s.pool.Exec(ctx, `UPDATE projections.rebuilds
		SET phase = $2, previous_index = coalesce(nullif($3, ''), previous_index), updated_at = now(), finished_at = now() WHERE id = $1`, id, phase, previous)
	if err != nil {
		return fmt.Errorf("record rebuild %s: %w", phase, err)
	}
	return nil
}

// headPosition is the newest position of the context's event store, for
// progress and ETA.
func headPosition(ctx context.Context, pool *pgxpool.Pool, schema string) (int64, error) {
	var head int64
	err := pool.QueryRow(ctx, `SELECT coalesce(max(position), 0) FROM `+pgx.Identifier{schema, "events"}.Sanitize()).Scan(&head)
	if err != nil {
		return 0, fmt.Errorf("read head position of %s: %w", schema, err)
	}
	return head, nil
}
