package deadletter

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
)

// Mirrored entries are what another component keeps parked in its own
// table and resolves itself, shown in the one dead-letter store so an
// operator finds and resolves everything in one place:
//
//   - a relay's blocked stream (<context>.relay_blocked_streams): the
//     broker refused an event for good; the stream's later events wait in
//     the event store, in order, while every other stream flows. Handler
//     "<context>.relay", key the stream, message id the refused event.
//   - a projection's held document (projections.held_documents):
//     Elasticsearch refused an aggregate's document for good; the live
//     projector skips its later events until it is re-projected. Handler
//     "<projection handler>.documents", key and message id the aggregate.
//
// The owner records them (Mirror) and resolves them (Resolve); a replay
// asks the owner to try again (its Owner.Replay), and a discard is refused:
// the owner's waiting events would be lost.

// Owner resolves the mirrored entries of one handler.
type Owner struct {
	// Replay asks the owner to try the aggregate key again now.
	Replay func(ctx context.Context, key string) error
}

// Owners maps mirrored handlers to their owners; shared by every Store
// of a process.
type Owners struct {
	mu     sync.RWMutex
	owners map[string]Owner
}

// SetOwner registers the owner of handler's mirrored entries.
func (s *Store) SetOwner(handler string, o Owner) {
	s.owners.mu.Lock()
	defer s.owners.mu.Unlock()
	if s.owners.owners == nil {
		s.owners.owners = map[string]Owner{}
	}
	s.owners.owners[handler] = o
}

func (s *Store) owner(handler string) (Owner, bool) {
	s.owners.mu.RLock()
	defer s.owners.mu.RUnlock()
	o, ok := s.owners.owners[handler]
	return o, ok
}

// Mirror records (or records again) an entry its owner keeps: dead, of
// class permanent, until the owner resolves it.
func (s *Store) Mirror(ctx context.Context, m Message, cause error) error {
	headers, err := json.Marshal(m.Headers)
	if err != nil {
		return fmt.Errorf("encode headers of %s: %w", m.MessageID, err)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO deadletters.messages AS d
			(namespace, handler, topic, kafka_partition, kafka_offset, key, message_id, type, payload, headers,
			 error_class, error, attempts, status)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'permanent', $11, 1, 'dead')
			ON CONFLICT (namespace, handler, message_id) DO UPDATE SET
				error = excluded.error, type = excluded.type, attempts = d.attempts + 1, last_failed_at = now(),
				status = 'dead', next_attempt_at = NULL, resolved_at = NULL, resolved_by = NULL
			RETURNING id`,
			s.namespace, m.Handler, m.Topic, m.Partition, m.Offset, m.Key, m.MessageID, m.Type, m.Payload, headers, cause.Error()).Scan(&id)
		if err != nil {
			return err
		}
		// The owner keeps one entry per key: an earlier one of the key it
		// moved past (a stream blocked again at a later event) is handled.
		if _, err := tx.Exec(ctx, `UPDATE deadletters.messages SET status = 'replayed', resolved_at = now(), resolved_by = $2,
				next_attempt_at = NULL
			WHERE namespace = $1 AND handler = $2 AND key = $3 AND id <> $4 AND status IN ('parked', 'dead')`,
			s.namespace, m.Handler, m.Key, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, id, ActionDead, m.Handler, cause.Error())
	})
	if err != nil {
		return fmt.Errorf("mirror dead letter %s of %s: %w", m.MessageID, m.Handler, err)
	}
	return nil
}

// Resolve marks handler's open entries of key replayed: their owner
// handled them in the end.
func (s *Store) Resolve(ctx context.Context, handler, key string) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE deadletters.messages SET status = 'replayed', resolved_at = now(), resolved_by = $2,
				next_attempt_at = NULL
			WHERE namespace = $1 AND handler = $2 AND key = $3 AND status IN ('parked', 'dead') RETURNING id`, s.namespace, handler, key)
		if err != nil {
			return err
		}
		ids, err := collect[int64](rows)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := s.audit(ctx, tx, id, ActionReplayed, handler, ""); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("resolve dead letters of %s %s: %w", handler, key, err)
	}
	return nil
}
