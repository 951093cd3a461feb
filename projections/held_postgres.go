package projections

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// heldStore keeps the aggregates whose documents Elasticsearch refused for
// good, in projections.held_documents of the projection's database, keyed
// by the live alias (so namespaces sharing a database stay apart). The
// table, not process memory, is the truth: every projector process, a
// restarted one included, skips the same aggregates, and an operator sees
// them with one query.
type heldStore struct{ pool *pgxpool.Pool }

// heldDocument is one refused document.
type heldDocument struct {
	id string
	refusal
}

// filter returns which of ids are held.
func (s heldStore) filter(ctx context.Context, alias string, ids []string) (map[string]bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT stream_id FROM projections.held_documents WHERE alias = $1 AND stream_id = ANY($2)`, alias, ids)
	if err != nil {
		return nil, fmt.Errorf("read held documents of %s: %w", alias, err)
	}
	defer rows.Close()
	held := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("read held documents of %s: %w", alias, err)
		}
		held[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read held documents of %s: %w", alias, err)
	}
	return held, nil
}

// hold records refused documents; a document held already keeps its first
// held_at and takes the newest refusal.
func (s heldStore) hold(ctx context.Context, alias string, n Name, docs []heldDocument) error {
	ids, indexes, types, reasons := make([]string, len(docs)), make([]string, len(docs)), make([]string, len(docs)), make([]string, len(docs))
	versions := make([]int32, len(docs))
	for i, d := range docs {
		ids[i], indexes[i], types[i], reasons[i], versions[i] = d.id, d.index, d.eventType, d.err.Error(), int32(d.version)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO projections.held_documents (alias, stream_id, projection, index_name, version, event_type, reason)
		SELECT $1, id, $2, ix, v, t, r FROM unnest($3::text[], $4::text[], $5::int[], $6::text[], $7::text[]) AS u(id, ix, v, t, r)
		ON CONFLICT (alias, stream_id) DO UPDATE SET
			index_name = excluded.index_name, version = excluded.version, event_type = excluded.event_type, reason = excluded.reason`,
		alias, string(n), ids, indexes, versions, types, reasons)
	if err != nil {
		return fmt.Errorf("hold %d refused %s documents: %w", len(docs), n, err)
	}
	return nil
}

// release deletes the hold of one document; it reports whether there was
// one.
func (s heldStore) release(ctx context.Context, alias, id string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM projections.held_documents WHERE alias = $1 AND stream_id = $2`, alias, id)
	if err != nil {
		return false, fmt.Errorf("release held document %s of %s: %w", id, alias, err)
	}
	return tag.RowsAffected() > 0, nil
}

// count returns how many documents of alias are held.
func (s heldStore) count(ctx context.Context, alias string) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM projections.held_documents WHERE alias = $1`, alias).Scan(&n); err != nil {
		return 0, fmt.Errorf("count held documents of %s: %w", alias, err)
	}
	return n, nil
}
