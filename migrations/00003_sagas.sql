-- +goose Up
-- The order saga's state, one row per order, and the events it already
-- handled. It lives beside the ordering context's event store: the saga is
-- the ordering context's orchestrator.
CREATE SCHEMA IF NOT EXISTS sagas;

CREATE TABLE sagas.order_sagas (
    order_id   text        PRIMARY KEY,
    phase      text        NOT NULL,
    state      jsonb       NOT NULL,
    -- When the saga next acts on its own (re-send, time out); NULL once done.
    deadline   timestamptz,
    started_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_sagas_due ON sagas.order_sagas (deadline) WHERE deadline IS NOT NULL;
CREATE INDEX order_sagas_open ON sagas.order_sagas (phase) WHERE phase NOT IN ('DONE');

-- Event ids the saga has applied, written in the transaction that applied
-- them: a redelivered event finds its row and changes nothing.
CREATE TABLE sagas.processed_events (
    event_id     uuid        PRIMARY KEY,
    order_id     text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP SCHEMA IF EXISTS sagas CASCADE;
