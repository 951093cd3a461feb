package deadletter

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Lease is one round of a handler's scheduler: a transaction holding the
// handler's advisory lock, so one process at a time retries a handler's
// parked messages. It holds a connection only for the round (nothing
// between rounds), and a process that dies mid-round loses it with its
// session, so another takes over at its next round.
type Lease struct {
	tx pgx.Tx
}

// TryLead takes handler's scheduler lock for one round without waiting;
// nil when another process holds it.
func (s *Store) TryLead(ctx context.Context, handler string) (*Lease, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin a dead-letter scheduler round of %s: %w", handler, err)
	}
	var ok bool
	key := "deadletters:" + s.namespace + ":" + handler
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))`, key).Scan(&ok); err != nil || !ok {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		if err != nil {
			return nil, fmt.Errorf("take the dead-letter scheduler lock of %s: %w", handler, err)
		}
		return nil, nil
	}
	return &Lease{tx: tx}, nil
}

// Querier is the round's transaction.
func (l *Lease) Querier() Querier { return l.tx }

// Release ends the round, releasing the lock.
func (l *Lease) Release() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = l.tx.Rollback(ctx)
}

// NextDue returns when handler's next parked entry is due (ok false if
// none is scheduled).
func (s *Store) NextDue(ctx context.Context, q Querier, handler string) (next time.Time, ok bool, err error) {
	rows, err := q.Query(ctx, `SELECT min(next_attempt_at) FROM deadletters.messages
		WHERE namespace = $1 AND handler = $2 AND status = 'parked' AND next_attempt_at IS NOT NULL`, s.namespace, handler)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("look up the next due dead letter of %s: %w", handler, err)
	}
	defer rows.Close()
	var t *time.Time
	if rows.Next() {
		if err := rows.Scan(&t); err != nil {
			return time.Time{}, false, fmt.Errorf("look up the next due dead letter of %s: %w", handler, err)
		}
	}
	if err := rows.Err(); err != nil {
		return time.Time{}, false, fmt.Errorf("look up the next due dead letter of %s: %w", handler, err)
	}
	if t == nil {
		return time.Time{}, false, nil
	}
	return *t, true, nil
}
