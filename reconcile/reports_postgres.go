package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ReportStore keeps the last report of a deployment in
// reconcile.reports (ordering database), so every API process serves it,
// whichever process ran the reconciliation.
type ReportStore struct {
	pool      *pgxpool.Pool
	namespace string
}

// NewReportStore returns the store of the deployment namespace (empty in
// production) in pool, the ordering database.
func NewReportStore(pool *pgxpool.Pool, namespace string) *ReportStore {
	return &ReportStore{pool: pool, namespace: namespace}
}

// Save replaces the last report.
func (s *ReportStore) Save(ctx context.Context, r Report) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode reconciliation report: %w", err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO reconcile.reports (namespace, started_at, finished_at, report) VALUES ($1, $2, $3, $4)
		ON CONFLICT (namespace) DO UPDATE SET started_at = excluded.started_at, finished_at = excluded.finished_at, report = excluded.report`,
		s.namespace, r.StartedAt, r.FinishedAt, raw)
	if err != nil {
		return fmt.Errorf("save reconciliation report: %w", err)
	}
	return nil
}

// Last returns the last report, nil before the first run.
func (s *ReportStore) Last(ctx context.Context) (*Report, error) {
	var raw []byte
	err := s.pool.QueryRow(ctx, `SELECT report FROM reconcile.reports WHERE namespace = $1`, s.namespace).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the last reconciliation report: %w", err)
	}
	var r Report
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("decode the last reconciliation report: %w", err)
	}
	return &r, nil
}
