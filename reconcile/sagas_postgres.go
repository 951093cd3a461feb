package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orderflow/orderflow/sagas"
)

// sagaTable reads the order sagas' state (sagas.order_sagas, in the
// ordering database) for the sagas a person or the reconciler must see.
type sagaTable struct {
	pool *pgxpool.Pool
}

// sagaRow is one saga as a run reports it.
type sagaRow struct {
	orderID  string
	phase    string
	deadline time.Time
	// lastStep and problem come from the saga's state: the last step its
	// order completed, and why it gave up (if it did).
	lastStep string
	problem  string
	updated  time.Time
}

const sagaColumns = `order_id, phase, coalesce(deadline, 'epoch'), state, updated_at`

// overdue returns up to limit open sagas whose deadline is before cutoff,
// after (deadline, orderID) in that order.
func (t sagaTable) overdue(ctx context.Context, cutoff time.Time, after sagaRow, limit int) ([]sagaRow, error) {
	rows, err := t.pool.Query(ctx, `SELECT `+sagaColumns+` FROM sagas.order_sagas
		WHERE deadline < $1 AND (deadline, order_id) > ($2, $3)
		ORDER BY deadline, order_id LIMIT $4`, cutoff, after.deadline, after.orderID, limit)
	if err != nil {
		return nil, fmt.Errorf("find overdue sagas: %w", err)
	}
	return collectSagas(rows)
}

// parked returns up to limit sagas waiting for a person, after orderID.
func (t sagaTable) parked(ctx context.Context, after string, limit int) ([]sagaRow, error) {
	rows, err := t.pool.Query(ctx, `SELECT `+sagaColumns+` FROM sagas.order_sagas
		WHERE phase = 'PARKED' AND order_id > $1
		ORDER BY order_id LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("find parked sagas: %w", err)
	}
	return collectSagas(rows)
}

func collectSagas(rows pgx.Rows) ([]sagaRow, error) {
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (sagaRow, error) {
		var s sagaRow
		var raw []byte
		if err := row.Scan(&s.orderID, &s.phase, &s.deadline, &raw, &s.updated); err != nil {
			return s, err
		}
		// The saga keeps no list of its order's steps: they follow from
		// its state (State.CompletedSteps), rows of earlier versions
		// included.
		var st sagas.State
		if err := json.Unmarshal(raw, &st); err != nil {
			return s, fmt.Errorf("decode saga %s: %w", s.orderID, err)
		}
		steps := st.CompletedSteps()
		s.lastStep = string(steps[len(steps)-1])
		switch {
		case st.Failure != nil:
			s.problem = st.Failure.Message
		case st.TimedOut != nil:
			s.problem = st.TimedOut.Message
		}
		return s, nil
	})
	if err != nil {
		return nil, fmt.Errorf("read sagas: %w", err)
	}
	return out, nil
}
