package outbox

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// queryTimeout bounds every statement of the relay session. A statement
// that outlives it (a dead peer the kernel has not noticed yet) closes the
// session, and the relay starts over: reconnect, win the lock, resume.
const queryTimeout = 30 * time.Second

// lockConn is the relay's one pinned PostgreSQL session. It holds the
// session-level advisory lock that makes the relay the single active
// instance and carries every read and
// checkpoint write of the active relay. Doing all of it on the lock's own
// session fences the relay: if the session dies, the lock is gone and so is
// the connection any further read or checkpoint would need, so a relay that
// lost its lock cannot carry on beside the instance that took over.
type lockConn struct {
	conn *pgx.Conn
}

// connectLock opens a dedicated session with the pool's settings. It is not
// taken from the pool: it lives as long as the relay, and a pooled
// connection holding a session lock must never go back to the pool.
func connectLock(ctx context.Context, base *pgx.ConnConfig, applicationName string) (*lockConn, error) {
	cfg := base.Copy()
	lc := &lockConn{}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = applicationName
	// A relay host that vanishes without closing its socket must not keep
	// the lock for the kernel's default two hours: the server probes the
	// idle session and ends it (releasing the lock) within about 25 s.
	// Ignored on Unix sockets.
	cfg.RuntimeParams["tcp_keepalives_idle"] = "10"
	cfg.RuntimeParams["tcp_keepalives_interval"] = "5"
	cfg.RuntimeParams["tcp_keepalives_count"] = "3"
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect relay session: %w", err)
	}
	lc.conn = conn
	return lc, nil
}

// tryLock takes the advisory lock without waiting. The lock belongs to the
// session: it is released when the connection closes, however that happens,
// which is what lets a standby take over from a crashed instance.
func (c *lockConn) tryLock(ctx context.Context, key string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	var ok bool
	if err := c.conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, key).Scan(&ok); err != nil {
		return false, fmt.Errorf("try relay lock %s: %w", key, err)
	}
	return ok, nil
}

// close ends the session, which releases the lock and the LISTEN. It never
// waits long: a broken peer must not hold up a shutdown or a fail-over.
func (c *lockConn) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = c.conn.Close(ctx) // closes the socket even when the goodbye fails
}
