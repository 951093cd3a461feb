package sagas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orderflow/orderflow/internal/postgres"
)

// store keeps saga state in the sagas schema of the ordering database.
type store struct {
	pool *pgxpool.Pool
}

// sagaLockClass keeps saga locks apart from other advisory locks.
const sagaLockClass = 0x5a6a

// loadedSaga is a saga as lockAndLoadMany read it: nil state when the
// order has none yet, and the ids of the events it applied.
type loadedSaga struct {
	state   *State
	applied map[string]bool
}

func (l *loadedSaga) markApplied(eventID string) {
	if l.applied == nil {
		l.applied = map[string]bool{}
	}
	l.applied[eventID] = true
}

// lockAndLoadMany serializes everything done to the orders' sagas (events,
// deadlines, redrives, in every worker) until tx ends, and reads them, in
// one round trip with whatever more (if not nil) queues into the batch
// (the orders' streams): locked says which locks tx holds; with wait unset a lock
// another transaction holds is not waited for, and that order's saga must
// not be used. Every order has a loadedSaga in sagas.
//
// The locks are advisory locks rather than row locks: they take no
// transaction id, so the transaction holds one only from its first write
// and never holds back the outbox relays' horizon while it waits. The
// statements of a batch run one after the other, so the sagas are read,
// each statement with a snapshot of its own, once the locks are held.
func (s store) lockAndLoadMany(ctx context.Context, tx pgx.Tx, orderIDs []string, wait bool, more func(*pgx.Batch) func() error) (locked map[string]bool, sagas map[string]*loadedSaga, err error) {
	b := &pgx.Batch{}
	locked = make(map[string]bool, len(orderIDs))
	sagas = make(map[string]*loadedSaga, len(orderIDs))
	for _, id := range orderIDs {
		sagas[id] = &loadedSaga{}
		if wait {
			b.Queue(`SELECT pg_advisory_xact_lock($1, hashtext($2))`, sagaLockClass, id)
			locked[id] = true
			continue
		}
		b.Queue(`SELECT pg_try_advisory_xact_lock($1, hashtext($2))`, sagaLockClass, id).QueryRow(func(row pgx.Row) error {
			var ok bool
			err := row.Scan(&ok)
			locked[id] = ok
			return err
		})
	}
	b.Queue(`SELECT order_id, state, applied::text[] FROM sagas.order_sagas WHERE order_id = ANY($1)`, orderIDs).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id string
			var raw []byte
			var applied []string
			if err := rows.Scan(&id, &raw, &applied); err != nil {
				return err
			}
			l, ok := sagas[id]
			if !ok {
				continue
			}
			st, err := decodeState(id, raw)
			if err != nil {
				return err
			}
			l.state = st
			for _, e := range applied {
				l.markApplied(e)
			}
		}
		return rows.Err()
	})
	apply := func() error { return nil }
	if more != nil {
		apply = more(b)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, fmt.Errorf("lock and load the sagas of %d orders: %w", len(orderIDs), err)
	}
	if err := apply(); err != nil {
		return nil, nil, err
	}
	return locked, sagas, nil
}

// lockAndLoad is lockAndLoadMany for one order: its saga (nil if it has
// none) and whether tx holds its lock (always, with wait set).
func (s store) lockAndLoad(ctx context.Context, tx pgx.Tx, orderID string, wait bool) (*State, bool, error) {
	locked, sagas, err := s.lockAndLoadMany(ctx, tx, []string{orderID}, wait, nil)
	if err != nil {
		return nil, false, err
	}
	return sagas[orderID].state, locked[orderID], nil
}

// decodeState decodes the state column of orderID's saga (older states
// are upgraded as they decode, see state_json.go).
func decodeState(orderID string, raw []byte) (*State, error) {
	var st State
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("decode saga %s: %w", orderID, err)
	}
	return &st, nil
}

// save writes the saga in tx and records the events that moved it as
// processed, in its row (applied, applied_at): one statement, the
// transaction's last, which goes with its COMMIT when tx is a
// postgres.Tx (postgres.ExecAtCommit): its error is then the commit's.
func (s store) save(ctx context.Context, tx pgx.Tx, st *State, eventIDs []string) error {
	raw, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode saga %s: %w", st.OrderID, err)
	}
	var deadline *time.Time
	if !st.Deadline.IsZero() {
		deadline = &st.Deadline
	}
	if eventIDs == nil {
		eventIDs = []string{}
	}
	err = postgres.ExecAtCommit(ctx, tx, `INSERT INTO sagas.order_sagas (order_id, phase, state, deadline, started_at, updated_at, applied, applied_at)
		VALUES ($1, $2, $3, $4, $5, now(), $6::uuid[], array_fill(now(), ARRAY[cardinality($6::uuid[])]))
		ON CONFLICT (order_id) DO UPDATE SET phase = excluded.phase, state = excluded.state, deadline = excluded.deadline, updated_at = now(),
			applied = order_sagas.applied || excluded.applied, applied_at = order_sagas.applied_at || excluded.applied_at`,
		st.OrderID, string(st.Phase), raw, deadline, st.StartedAt, eventIDs)
	if err != nil {
		return fmt.Errorf("save saga %s after events %v: %w", st.OrderID, eventIDs, err)
	}
	return nil
}

// markUnsent records that the commands st sent for its current attempt
// never reached Kafka, unless the saga moved on meanwhile (another phase,
// attempt or deadline: then these commands are no longer what it waits on).
func (s store) markUnsent(ctx context.Context, st *State) (bool, error) {
	deadline, err := json.Marshal(st.Deadline)
	if err != nil {
		return false, fmt.Errorf("encode deadline of saga %s: %w", st.OrderID, err)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE sagas.order_sagas SET state = jsonb_set(state, '{unsent}', 'true'), updated_at = now()
		WHERE order_id = $1 AND phase = $2 AND (state->>'attempts')::int = $3 AND state->'deadline' = $4::jsonb`,
		st.OrderID, string(st.Phase), st.Attempts, string(deadline))
	if err != nil {
		return false, fmt.Errorf("mark saga %s unsent: %w", st.OrderID, err)
	}
	return tag.RowsAffected() == 1, nil
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
	return decodeState(orderID, raw)
}
