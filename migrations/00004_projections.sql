-- +goose Up
-- Progress of the read-model rebuild job (projections.Rebuild): which index
-- it fills and the last event store position it projected, so a rebuild
-- that crashed resumes where it stopped. Rows of finished and cancelled
-- rebuilds stay as history. Each projection keeps its rows in the database
-- of the context it reads (orders: ordering, products: inventory,
-- customers: payments).
CREATE SCHEMA IF NOT EXISTS projections;

CREATE TABLE projections.rebuilds (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    projection     text        NOT NULL,
    -- The namespaced alias the rebuild will move, so deployments sharing a
    -- database (namespaces) never see each other's rebuilds.
    alias          text        NOT NULL,
    target_index   text        NOT NULL,
    previous_index text,
    phase          text        NOT NULL CHECK (phase IN ('copying', 'done', 'cancelled')),
    position       bigint      NOT NULL DEFAULT 0,
    events         bigint      NOT NULL DEFAULT 0,
    started_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz
);
-- At most one unfinished rebuild per alias.
CREATE UNIQUE INDEX rebuilds_open ON projections.rebuilds (alias) WHERE phase = 'copying';

-- +goose Down
DROP SCHEMA IF EXISTS projections CASCADE;
