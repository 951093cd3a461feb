-- Scratch tables for docs/benchmarks.md, in a scratch database:
--   createdb -h 127.0.0.1 -p 5433 -U postgres orderflow_pgbench
--   psql -h 127.0.0.1 -p 5433 -U postgres -d orderflow_pgbench -f docs/pgbench/setup.sql
DROP TABLE IF EXISTS scratch, scratch_events;

-- The raw insert: an identity key and a small JSON payload, nothing else.
CREATE TABLE scratch (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    data       jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The event store's row: same columns, constraints, relay index and
-- notify trigger as <schema>.events (migrations 00001 and 00002).
CREATE TABLE scratch_events (
    position       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id       uuid        NOT NULL UNIQUE,
    stream_id      text        NOT NULL,
    stream_type    text        NOT NULL,
    version        integer     NOT NULL CHECK (version > 0),
    event_type     text        NOT NULL,
    data           jsonb       NOT NULL,
    metadata       jsonb       NOT NULL DEFAULT '{}',
    correlation_id text,
    causation_id   text,
    transaction_id xid8        NOT NULL DEFAULT pg_current_xact_id(),
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream_id, version)
);
CREATE INDEX ON scratch_events (transaction_id, position);
CREATE OR REPLACE FUNCTION scratch_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('orderflow_events_scratch', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER scratch_notify AFTER INSERT ON scratch_events
    FOR EACH STATEMENT EXECUTE FUNCTION scratch_notify();
