package projections

import (
	"context"
	"errors"
	"fmt"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// customerDirectory finds a customer's name and email in the payments
// event store (the CustomerRegistered event that opens the stream), with a
// bounded cache: neither ever changes.
type customerDirectory struct {
	pool  *pgxpool.Pool
	cache *lru.Cache[string, contact]
}

type contact struct {
	name  string
	email string
}

func newCustomerDirectory(pool *pgxpool.Pool, max int) *customerDirectory {
	cache, err := lru.New[string, contact](max)
	if err != nil {
		panic(err) // only for a size below 1, a bug of the caller
	}
	return &customerDirectory{pool: pool, cache: cache}
}

func (c *customerDirectory) lookup(ctx context.Context, id string) (contact, bool, error) {
	if hit, ok := c.cache.Get(id); ok {
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
	c.cache.Add(id, found)
	return found, true, nil
}
