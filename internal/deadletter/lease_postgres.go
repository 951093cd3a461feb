package deadletter

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Lease is the leadership of one handler's scheduler: a session advisory
// lock held on a connection of its own, so one process at a time retries
// a handler's parked messages. A process that dies loses it with its
// session, and another takes over.
type Lease struct {
	conn *pgxpool.Conn
	key  string
}

// TryLead takes handler's scheduler lock without waiting; nil when another
// process holds it.
func (s *Store) TryLead(ctx context.Context, handler string) (*Lease, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect for the dead-letter scheduler of %s: %w", handler, err)
	}
	key := "deadletters:" + s.namespace + ":" + handler
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, key).Scan(&ok); err != nil {
		conn.Release()
		return nil, fmt.Errorf("take the dead-letter scheduler lock of %s: %w", handler, err)
	}
	if !ok {
		conn.Release()
		return nil, nil
	}
	return &Lease{conn: conn, key: key}, nil
}

// Querier is the lease's own session: queries on it fail once the lock
// is lost with its session, so a scheduler never acts without it.
func (l *Lease) Querier() Querier { return l.conn }

// Release gives the lock up; a session that cannot say so is closed,
// which releases it as well.
func (l *Lease) Release() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := l.conn.Exec(ctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, l.key); err != nil {
		_ = l.conn.Hijack().Close(ctx)
		return
	}
	l.conn.Release()
}
