-- +goose NO TRANSACTION
-- +goose Up
-- The periodic reconciliation checks the streams that changed since the
-- run before it (created_at, the insert time, rises with the position),
-- and a full pass only now and then (reconcile.Config.FullInterval). A BRIN
-- index finds the recent rows of an append-only table for a few pages of
-- index, and costs next to nothing per insert. Built without blocking the
-- writers.
CREATE INDEX CONCURRENTLY IF NOT EXISTS events_created_at ON ordering.events USING brin (created_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS events_created_at ON inventory.events USING brin (created_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS events_created_at ON payments.events USING brin (created_at);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS ordering.events_created_at;
DROP INDEX CONCURRENTLY IF EXISTS inventory.events_created_at;
DROP INDEX CONCURRENTLY IF EXISTS payments.events_created_at;
