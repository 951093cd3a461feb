package deadletter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orderflow/orderflow/internal/errcode"
)

// DefaultLevels are the delays between the attempts of a parked message:
// after the last it is dead.
var DefaultLevels = []time.Duration{5 * time.Second, time.Minute, 10 * time.Minute, time.Hour}

// ActorScheduler is the actor of what a handler's scheduler does.
const ActorScheduler = "scheduler"

// Store is the dead-letter store in PostgreSQL (deadletters.messages and
// deadletters.actions, in the ordering database).
type Store struct {
	pool      *pgxpool.Pool
	namespace string
	levels    []time.Duration
	owners    *Owners
}

// NewStore returns the store of namespace's entries in pool; levels are
// the retry delays (DefaultLevels if empty).
func NewStore(pool *pgxpool.Pool, namespace string, levels []time.Duration) *Store {
	if len(levels) == 0 {
		levels = DefaultLevels
	}
	return &Store{pool: pool, namespace: namespace, levels: levels, owners: &Owners{}}
}

// Levels are the store's retry delays.
func (s *Store) Levels() []time.Duration { return s.levels }

// Blocked returns those of keys with an open entry for handler: their
// messages must wait behind it.
func (s *Store) Blocked(ctx context.Context, handler string, keys []string) (map[string]bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT key FROM deadletters.messages
		WHERE namespace = $1 AND handler = $2 AND key = ANY($3) AND status IN ('parked', 'dead')`, s.namespace, handler, keys)
	if err != nil {
		return nil, fmt.Errorf("look up blocked keys of %s: %w", handler, err)
	}
	keysFound, err := collect[string](rows)
	if err != nil {
		return nil, fmt.Errorf("look up blocked keys of %s: %w", handler, err)
	}
	blocked := map[string]bool{}
	for _, k := range keysFound {
		blocked[k] = true
	}
	return blocked, nil
}

// AnyOpen reports whether handler has any open entry: while it has none,
// no message of it needs to be checked against the store.
func (s *Store) AnyOpen(ctx context.Context, handler string) (bool, error) {
	var open bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM deadletters.messages
		WHERE namespace = $1 AND handler = $2 AND status IN ('parked', 'dead'))`, s.namespace, handler).Scan(&open)
	if err != nil {
		return false, fmt.Errorf("look up open dead letters of %s: %w", handler, err)
	}
	return open, nil
}

// Park stores m as failed with class and cause: dead at once when
// permanent, waiting (due when it is its key's first open entry) when
// Waiting, otherwise parked until the first level's delay passed. A
// message id the handler has in the store already (a redelivery) is left
// as it is; added reports whether m was stored.
func (s *Store) Park(ctx context.Context, m Message, class Class, cause error, attempts int) (status Status, added bool, err error) {
	headers, err := json.Marshal(m.Headers)
	if err != nil {
		return "", false, fmt.Errorf("encode headers of %s: %w", m.MessageID, err)
	}
	status, action := StatusParked, ActionParked
	var next *time.Time
	switch class {
	case Permanent:
		status, action = StatusDead, ActionDead
	case Waiting:
		action = ActionWaiting
	default:
		t := time.Now().Add(s.levels[0])
		next = &t
	}
	text := ""
	if cause != nil {
		text = cause.Error()
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO deadletters.messages
			(namespace, handler, topic, kafka_partition, kafka_offset, key, message_id, type, payload, headers,
			 error_class, error, attempts, next_attempt_at, status)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
			ON CONFLICT (namespace, handler, message_id) DO NOTHING RETURNING id`,
			s.namespace, m.Handler, m.Topic, m.Partition, m.Offset, m.Key, m.MessageID, m.Type, m.Payload, headers,
			class, text, attempts, next, status).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		added = true
		return s.audit(ctx, tx, id, action, ActorScheduler, text)
	})
	if err != nil {
		return "", false, fmt.Errorf("park message %s of %s: %w", m.MessageID, m.Handler, err)
	}
	return status, added, nil
}

func (s *Store) audit(ctx context.Context, tx pgx.Tx, id int64, action, actor, reason string) error {
	_, err := tx.Exec(ctx, `INSERT INTO deadletters.actions (message, action, actor, reason) VALUES ($1, $2, $3, $4)`,
		id, action, actor, truncate(reason, 2000))
	return err
}

// Due returns up to limit entries of handler to try now: of each key
// whose first open entry is parked and due, that entry, oldest first.
func (s *Store) Due(ctx context.Context, q Querier, handler string, limit int) ([]Entry, error) {
	rows, err := q.Query(ctx, `SELECT `+entryColumns+` FROM (
			SELECT DISTINCT ON (key) * FROM deadletters.messages
			WHERE namespace = $1 AND handler = $2 AND status IN ('parked', 'dead')
			ORDER BY key, id) AS head
		WHERE status = 'parked' AND (next_attempt_at IS NULL OR next_attempt_at <= now())
		ORDER BY id LIMIT $3`, s.namespace, handler, limit)
	if err != nil {
		return nil, fmt.Errorf("look up due dead letters of %s: %w", handler, err)
	}
	return scanEntries(rows)
}

// Querier runs a query: a pool, a connection or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Succeeded resolves an entry whose handling succeeded: replayed.
func (s *Store) Succeeded(ctx context.Context, id int64) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE deadletters.messages SET status = 'replayed', resolved_at = now(), resolved_by = $2,
			next_attempt_at = NULL WHERE id = $1 AND status = 'parked'`, id, ActorScheduler)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return s.audit(ctx, tx, id, ActionReplayed, ActorScheduler, "")
	})
}

// Failed records a failed attempt of a parked entry: on to the next level
// (a waiting entry to the first), or dead when class is permanent or the
// levels are exhausted. It returns the entry's new status and level.
func (s *Store) Failed(ctx context.Context, e Entry, class Class, cause error) (Status, int, error) {
	level, status := e.Level+1, StatusParked
	if e.Class == Waiting {
		level = 0
	}
	var next *time.Time
	if class == Permanent || level >= len(s.levels) {
		status, level = StatusDead, min(level, len(s.levels)-1)
	} else {
		t := time.Now().Add(s.levels[level])
		next = &t
	}
	action := ActionRetryFailed
	if status == StatusDead {
		action = ActionDead
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE deadletters.messages SET error_class = $2, error = $3, attempts = attempts + 1,
			level = $4, last_failed_at = now(), next_attempt_at = $5, status = $6 WHERE id = $1`,
			e.ID, class, cause.Error(), level, next, status); err != nil {
			return err
		}
		return s.audit(ctx, tx, e.ID, action, ActorScheduler, cause.Error())
	})
	if err != nil {
		return "", 0, fmt.Errorf("record failed retry of dead letter %d: %w", e.ID, err)
	}
	return status, level, nil
}

// Get returns an entry with its audit trail.
func (s *Store) Get(ctx context.Context, id int64) (*Entry, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+entryColumns+` FROM deadletters.messages WHERE namespace = $1 AND id = $2`, s.namespace, id)
	if err != nil {
		return nil, fmt.Errorf("read dead letter %d: %w", id, err)
	}
	es, err := scanEntries(rows)
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return nil, errcode.New(errcode.NotFound, "dead letter %d not found", id)
	}
	if err := loadActions(ctx, s.pool, es); err != nil {
		return nil, err
	}
	return &es[0], nil
}

// querier is what reads need of a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// loadActions reads the audit trails of es.
func loadActions(ctx context.Context, q querier, es []Entry) error {
	if len(es) == 0 {
		return nil
	}
	index := make(map[int64]int, len(es))
	ids := make([]int64, len(es))
	for i, e := range es {
		index[e.ID], ids[i] = i, e.ID
	}
	rows, err := q.Query(ctx, `SELECT message, action, actor, reason, at FROM deadletters.actions WHERE message = ANY($1) ORDER BY id`, ids)
	if err != nil {
		return fmt.Errorf("read audit of dead letters: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var a Action
		if err := rows.Scan(&id, &a.Action, &a.Actor, &a.Reason, &a.At); err != nil {
			return fmt.Errorf("read audit of dead letters: %w", err)
		}
		es[index[id]].Actions = append(es[index[id]].Actions, a)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read audit of dead letters: %w", err)
	}
	return nil
}

// List returns up to first entries the filter selects, newest first,
// after the entry with id after (0: from the newest), and the counts per
// handler and class of everything the filter selects.
func (s *Store) List(ctx context.Context, f Filter, first int, after int64) (Page, error) {
	// One snapshot: the page, its audit trails and the counts agree even
	// while handlers park new messages.
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return Page{}, fmt.Errorf("list dead letters: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	where, args := f.where(s.namespace)
	var page Page
	pageArgs := append(append([]any{}, args...), first+1)
	cond := where
	if after > 0 {
		pageArgs = append(pageArgs, after)
		cond += fmt.Sprintf(" AND id < $%d", len(pageArgs))
	}
	rows, err := tx.Query(ctx, `SELECT `+entryColumns+` FROM deadletters.messages WHERE `+cond+
		fmt.Sprintf(" ORDER BY id DESC LIMIT $%d", len(args)+1), pageArgs...)
	if err != nil {
		return page, fmt.Errorf("list dead letters: %w", err)
	}
	if page.Entries, err = scanEntries(rows); err != nil {
		return page, err
	}
	if len(page.Entries) > first {
		page.Entries, page.HasNext = page.Entries[:first], true
	}
	if err := loadActions(ctx, tx, page.Entries); err != nil {
		return page, err
	}
	rows, err = tx.Query(ctx, `SELECT handler, error_class, count(*) FROM deadletters.messages WHERE `+where+
		` GROUP BY handler, error_class ORDER BY handler, error_class`, args...)
	if err != nil {
		return page, fmt.Errorf("count dead letters: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c Count
		if err := rows.Scan(&c.Handler, &c.Class, &c.Count); err != nil {
			return page, fmt.Errorf("count dead letters: %w", err)
		}
		page.Counts = append(page.Counts, c)
		page.Total += c.Count
	}
	return page, rows.Err()
}

func (f Filter) where(namespace string) (string, []any) {
	conds, args := []string{"namespace = $1"}, []any{namespace}
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if f.Handler != "" {
		add("handler = $%d", f.Handler)
	}
	if f.AggregateID != "" {
		add("key = $%d", f.AggregateID)
	}
	if f.Status != "" {
		add("status = $%d", string(f.Status))
	}
	if f.Class != "" {
		add("error_class = $%d", string(f.Class))
	}
	if f.Type != "" {
		add("type = $%d", f.Type)
	}
	if !f.From.IsZero() {
		add("first_failed_at >= $%d", f.From)
	}
	if !f.To.IsZero() {
		add("first_failed_at < $%d", f.To)
	}
	return strings.Join(conds, " AND "), args
}

// Replay has the scheduler try the given open entries, or every open entry
// of aggregate, again now, from the first retry level; the entries behind
// them follow in order once they succeed. It returns the entries it
// changed (those not open are left as they are).
func (s *Store) Replay(ctx context.Context, ids []int64, aggregate, actor string) ([]int64, error) {
	if len(ids) == 0 && aggregate == "" {
		return nil, errcode.New(errcode.InvalidOrderData, "replay needs ids or an aggregate id")
	}
	type target struct {
		id           int64
		handler, key string
	}
	var targets []target
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE deadletters.messages SET status = 'parked', level = 0,
				next_attempt_at = CASE WHEN error_class = 'waiting' THEN NULL ELSE now() END
			WHERE namespace = $1 AND status IN ('parked', 'dead') AND (id = ANY($2) OR ($3 <> '' AND key = $3))
			RETURNING id, handler, key`, s.namespace, ids, aggregate)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var t target
			if err := rows.Scan(&t.id, &t.handler, &t.key); err != nil {
				return err
			}
			targets = append(targets, t)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		for _, t := range targets {
			if err := s.audit(ctx, tx, t.id, ActionReplayRequested, actor, ""); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("replay dead letters: %w", err)
	}
	// Entries another component keeps are then handed to it (after the
	// update, so what it records when it is through comes last); those it
	// refuses to retry are dead again.
	var changed []int64
	asked := map[string]error{}
	for _, t := range targets {
		owner, ok := s.owner(t.handler)
		if !ok {
			changed = append(changed, t.id)
			continue
		}
		k := t.handler + "\x00" + t.key
		herr, seen := asked[k]
		if !seen {
			herr = owner.Replay(ctx, t.key)
			asked[k] = herr
		}
		if herr == nil {
			changed = append(changed, t.id)
			continue
		}
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `UPDATE deadletters.messages SET status = 'dead', next_attempt_at = NULL
				WHERE id = $1 AND status = 'parked'`, t.id); err != nil {
				return err
			}
			return s.audit(ctx, tx, t.id, ActionReplayFailed, actor, herr.Error())
		})
		if err != nil {
			return nil, fmt.Errorf("record the failed replay of dead letter %d: %w", t.id, err)
		}
	}
	return changed, nil
}

// Discard gives up an open entry for good, with the operator's reason;
// the entries behind it follow in order.
func (s *Store) Discard(ctx context.Context, id int64, reason, actor string) error {
	if strings.TrimSpace(reason) == "" {
		return errcode.New(errcode.InvalidOrderData, "discarding a dead letter needs a reason")
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var status Status
		var handler string
		err := tx.QueryRow(ctx, `SELECT status, handler FROM deadletters.messages WHERE namespace = $1 AND id = $2 FOR UPDATE`, s.namespace, id).Scan(&status, &handler)
		if errors.Is(err, pgx.ErrNoRows) {
			return errcode.New(errcode.NotFound, "dead letter %d not found", id)
		}
		if err != nil {
			return fmt.Errorf("discard dead letter %d: %w", id, err)
		}
		if !status.Open() {
			return errcode.New(errcode.Conflict, "dead letter %d is %s already", id, status)
		}
		if _, owned := s.owner(handler); owned {
			return errcode.New(errcode.Conflict, "dead letter %d is kept by %s, whose later messages wait behind it: remove the cause and replay it", id, handler)
		}
		if _, err := tx.Exec(ctx, `UPDATE deadletters.messages SET status = 'discarded', resolved_at = now(), resolved_by = $2,
			next_attempt_at = NULL WHERE id = $1`, id, actor); err != nil {
			return fmt.Errorf("discard dead letter %d: %w", id, err)
		}
		return s.audit(ctx, tx, id, ActionDiscarded, actor, reason)
	})
}

// HandlerStats is the state of one handler's open entries.
type HandlerStats struct {
	Handler string
	Parked  int
	// OldestParked is the first failure of the oldest parked entry.
	OldestParked time.Time
	// Dead counts the dead entries per class.
	Dead map[Class]int
}

// Stats returns the open entries' state of every handler that has any.
func (s *Store) Stats(ctx context.Context) (map[string]*HandlerStats, error) {
	rows, err := s.pool.Query(ctx, `SELECT handler, status, error_class, count(*), min(first_failed_at)
		FROM deadletters.messages WHERE namespace = $1 AND status IN ('parked', 'dead')
		GROUP BY handler, status, error_class`, s.namespace)
	if err != nil {
		return nil, fmt.Errorf("dead letter stats: %w", err)
	}
	defer rows.Close()
	stats := map[string]*HandlerStats{}
	for rows.Next() {
		var handler string
		var status Status
		var class Class
		var n int
		var oldest time.Time
		if err := rows.Scan(&handler, &status, &class, &n, &oldest); err != nil {
			return nil, fmt.Errorf("dead letter stats: %w", err)
		}
		st := stats[handler]
		if st == nil {
			st = &HandlerStats{Handler: handler, Dead: map[Class]int{}}
			stats[handler] = st
		}
		if status == StatusParked {
			st.Parked += n
			if st.OldestParked.IsZero() || oldest.Before(st.OldestParked) {
				st.OldestParked = oldest
			}
		} else {
			st.Dead[class] += n
		}
	}
	return stats, rows.Err()
}

// Prune deletes the replayed and discarded entries resolved before
// cutoff, at most batch at a time, and reports how many it deleted.
func (s *Store) Prune(ctx context.Context, cutoff time.Time, batch int) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM deadletters.messages WHERE id IN (
		SELECT id FROM deadletters.messages WHERE status IN ('replayed', 'discarded') AND resolved_at < $1 LIMIT $2)`, cutoff, batch)
	if err != nil {
		return 0, fmt.Errorf("prune dead letters: %w", err)
	}
	return tag.RowsAffected(), nil
}

const entryColumns = `id, handler, topic, kafka_partition, kafka_offset, key, message_id, type, payload, headers,
	error_class, error, attempts, level, first_failed_at, last_failed_at, next_attempt_at, status, resolved_at, coalesce(resolved_by, '')`

func scanEntries(rows pgx.Rows) ([]Entry, error) {
	defer rows.Close()
	var es []Entry
	for rows.Next() {
		var e Entry
		var headers []byte
		if err := rows.Scan(&e.ID, &e.Handler, &e.Topic, &e.Partition, &e.Offset, &e.Key, &e.MessageID, &e.Type, &e.Payload, &headers,
			&e.Class, &e.Error, &e.Attempts, &e.Level, &e.FirstFailedAt, &e.LastFailedAt, &e.NextAttemptAt, &e.Status,
			&e.ResolvedAt, &e.ResolvedBy); err != nil {
			return nil, fmt.Errorf("read dead letter: %w", err)
		}
		if err := json.Unmarshal(headers, &e.Headers); err != nil {
			return nil, fmt.Errorf("decode headers of dead letter %d: %w", e.ID, err)
		}
		es = append(es, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read dead letters: %w", err)
	}
	return es, nil
}

// collect reads a one-column result.
func collect[T any](rows pgx.Rows) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
