package projections

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// withAdvisoryLock runs fn while holding a session advisory lock named key
// on a connection of pool, waiting for it if another process holds it.
func withAdvisoryLock(ctx context.Context, pool *pgxpool.Pool, key string, fn func() error) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection for lock %s: %w", key, err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, key); err != nil {
		return fmt.Errorf("take lock %s: %w", key, err)
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, key)
	}()
	return fn()
}

// tryAdvisoryLock takes a session advisory lock without waiting; the
// returned release must be called when held is true.
func tryAdvisoryLock(ctx context.Context, pool *pgxpool.Pool, key string) (held bool, release func(), err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return false, nil, fmt.Errorf("acquire connection for lock %s: %w", key, err)
	}
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, key).Scan(&held); err != nil {
		conn.Release()
		return false, nil, fmt.Errorf("take lock %s: %w", key, err)
	}
	if !held {
		conn.Release()
		return false, nil, nil
	}
	return true, func() {
		_, _ = conn.Exec(context.Background(), `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, key)
		conn.Release()
	}, nil
}
