-- +goose Up
-- The retention job (package internal/retention) deletes handled inbox rows
-- and processed-event rows older than ORDERFLOW_RETENTION. Rows are
-- appended in time order, so a BRIN index finds the old ones at almost no
-- cost to the writes.
CREATE INDEX inbox_processed_at ON ordering.inbox USING brin (processed_at);
CREATE INDEX inbox_processed_at ON inventory.inbox USING brin (processed_at);
CREATE INDEX inbox_processed_at ON payments.inbox USING brin (processed_at);
CREATE INDEX processed_events_processed_at ON sagas.processed_events USING brin (processed_at);

-- +goose Down
DROP INDEX IF EXISTS sagas.processed_events_processed_at;
DROP INDEX IF EXISTS payments.inbox_processed_at;
DROP INDEX IF EXISTS inventory.inbox_processed_at;
DROP INDEX IF EXISTS ordering.inbox_processed_at;
