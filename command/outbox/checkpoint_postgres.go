package outbox

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// checkpoint is where a relay stopped: the (transaction_id, position) of the
// last event it published. The zero value is the start of the store.
type checkpoint struct {
	TransactionID uint64
	Position      int64
}

// checkpointStore keeps the relay's checkpoint in <schema>.relay_checkpoints.
// It works on the lock session (see lockConn), so only the instance holding
// the lock can move it.
type checkpointStore struct {
	table string
	relay string
}

func newCheckpointStore(schema, relay string) checkpointStore {
	return checkpointStore{table: pgx.Identifier{schema, "relay_checkpoints"}.Sanitize(), relay: relay}
}

// load returns the stored checkpoint, or the zero checkpoint for a relay
// that never published.
func (s checkpointStore) load(ctx context.Context, conn *pgx.Conn) (checkpoint, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	var cp checkpoint
	var txid string
	err := conn.QueryRow(ctx, `SELECT transaction_id::text, position FROM `+s.table+` WHERE relay = $1`, s.relay).Scan(&txid, &cp.Position)
	if errors.Is(err, pgx.ErrNoRows) {
		return checkpoint{}, nil
	}
	if err != nil {
		return checkpoint{}, fmt.Errorf("load checkpoint of relay %s: %w", s.relay, err)
	}
	if cp.TransactionID, err = strconv.ParseUint(txid, 10, 64); err != nil {
		return checkpoint{}, fmt.Errorf("load checkpoint of relay %s: transaction id %q: %w", s.relay, txid, err)
	}
	return cp, nil
}

// save moves the checkpoint forward to cp, in a round trip of its own.
// It never moves it back, so a stale writer could not make the relay
// publish history again.
func (s checkpointStore) save(ctx context.Context, conn *pgx.Conn, cp checkpoint) error {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	q := s.saveQuery(cp)
	if _, err := conn.Exec(ctx, q.SQL, q.Arguments...); err != nil {
		return fmt.Errorf("save checkpoint of relay %s: %w", s.relay, err)
	}
	return nil
}

// saveQuery is the statement that moves the checkpoint forward to cp (and
// never back), for save or to travel behind the next read
// (eventReader.read).
func (s checkpointStore) saveQuery(cp checkpoint) *pgx.QueuedQuery {
	return &pgx.QueuedQuery{
		SQL: `INSERT INTO ` + s.table + ` AS c (relay, transaction_id, position, updated_at)
		VALUES ($1, $2::text::xid8, $3, now())
		ON CONFLICT (relay) DO UPDATE SET transaction_id = excluded.transaction_id, position = excluded.position, updated_at = excluded.updated_at
		WHERE (c.transaction_id, c.position) < (excluded.transaction_id, excluded.position)`,
		Arguments: []any{s.relay, strconv.FormatUint(cp.TransactionID, 10), cp.Position},
	}
}
