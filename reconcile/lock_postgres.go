package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// leaderLock makes one run at a time, across processes: a session-level
// advisory lock, as the outbox relay's, on a session of its own opened for
// the run and closed after it. Closing the session releases the lock
// however the run ends, a crashed process included.
type leaderLock struct {
	pool *pgxpool.Pool
	key  string
}

// lockTimeout bounds connecting and asking for the lock.
const lockTimeout = 30 * time.Second

// tryAcquire takes the lock without waiting. It returns the release func
// when it got it, nil when another process holds it.
func (l leaderLock) tryAcquire(ctx context.Context) (release func(), err error) {
	cfg := l.pool.Config().ConnConfig.Copy()
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = "orderflow-reconcile"
	ctx, cancel := context.WithTimeout(ctx, lockTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect reconciliation lock session: %w", err)
	}
	closeConn := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = conn.Close(ctx)
	}
	var held bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, l.key).Scan(&held); err != nil {
		closeConn()
		return nil, fmt.Errorf("try reconciliation lock %s: %w", l.key, err)
	}
	if !held {
		closeConn()
		return nil, nil
	}
	// Unlock before closing: a closed session's locks are freed only once
	// its backend has exited, which a busy server may do after the next
	// run already tried (and found the lock "held").
	release = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, _ = conn.Exec(ctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, l.key)
		closeConn()
	}
	return release, nil
}
