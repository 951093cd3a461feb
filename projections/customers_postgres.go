package projections

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// customerDirectory finds a customer's name and email in the payments
// event store (the CustomerRegistered event that opens the stream), with a
// bounded cache: neither ever changes.
type customerDirectory struct {
	pool *pgxpool.Pool
	max  int

	mu    sync.Mutex
	cache map[string]contact
}

type contact struct {
	name  string
	email string
}

func newCustomerDirectory(pool *pgxpool.Pool, max int) *customerDirectory {
	return &customerDirectory{pool: pool, max: max, cache: map[string]contact{}}
}

func (c *customerDirectory) lookup(ctx context.Context, id string) (contact, bool, error) {
	c.mu.Lock()
	hit, ok := c.cache[id]
	c.mu.Unlock()
	if ok {
		return hit, true, nil
	}
	var found contact
	err := c.pool.QueryRow(ctx, `SELECT coalesce(data->>'name', ''), coalesce(data->>'email', '')
		FROM payments.events WHERE stream_id = $1 AND version = 1 AND event_type = 'payments.CustomerRegistered'`, id).
		Scan(&found.name, &found.email)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return contact{}, false, nil
	case err != nil:
		return contact{}, false, fmt.Errorf("read customer %s: %w", id, err)
	}
	c.mu.Lock()
	if len(c.cache) >= c.max {
		clear(c.cache) // crude but bounded; a miss costs one indexed read
	}
	c.cache[id] = found
	c.mu.Unlock()
	return found, true, nil
}
