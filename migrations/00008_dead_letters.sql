-- +goose Up
-- The dead-letter store (issue 13, package internal/deadletter): every
-- message a consumer could not handle, parked for a later attempt or dead
-- until an operator replays or discards it, and the messages of the same
-- aggregate that arrived after it and wait behind it, in order. It lives
-- in the ordering database, beside the sagas.
CREATE SCHEMA IF NOT EXISTS deadletters;

CREATE TABLE deadletters.messages (
    -- id orders the entries: those of one (handler, key) are retried and
    -- released in id order, which is the order they were consumed in.
    id              bigserial   PRIMARY KEY,
    -- The deployment's namespace (empty in production).
    namespace       text        NOT NULL DEFAULT '',
    -- The consumer's stable handler name (e.g. inventory.commands).
    handler         text        NOT NULL,
    topic           text        NOT NULL,
    kafka_partition integer     NOT NULL,
    kafka_offset    bigint      NOT NULL,
    -- The record key: the aggregate (order, product, customer) id.
    key             text        NOT NULL,
    message_id      text        NOT NULL,
    type            text        NOT NULL DEFAULT '',
    payload         bytea       NOT NULL,
    headers         jsonb       NOT NULL DEFAULT '{}',
    -- transient (failed through the retry levels), permanent (can never
    -- succeed as it is: undecodable, unknown type), waiting (nothing wrong
    -- with it: an earlier message of its aggregate is parked or dead).
    error_class     text        NOT NULL,
    error           text        NOT NULL DEFAULT '',
    attempts        integer     NOT NULL DEFAULT 0,
    -- The retry level reached (index into the configured delays).
    level           integer     NOT NULL DEFAULT 0,
    first_failed_at timestamptz NOT NULL DEFAULT now(),
    last_failed_at  timestamptz NOT NULL DEFAULT now(),
    -- When the scheduler tries a parked entry again; NULL for a waiting
    -- entry (due as soon as it is its aggregate's first open entry).
    next_attempt_at timestamptz,
    status          text        NOT NULL CHECK (status IN ('parked', 'dead', 'replayed', 'discarded')),
    -- When the entry was resolved (replayed or discarded) and by whom
    -- ("scheduler" for a retry that succeeded).
    resolved_at     timestamptz,
    resolved_by     text,
    UNIQUE (namespace, handler, message_id)
);

-- An aggregate is blocked for a handler while it has an open entry.
CREATE INDEX messages_open ON deadletters.messages (namespace, handler, key, id)
    WHERE status IN ('parked', 'dead');
CREATE INDEX messages_key ON deadletters.messages (key);
CREATE INDEX messages_resolved ON deadletters.messages (resolved_at)
    WHERE status IN ('replayed', 'discarded');

-- Who did what when: every operator action and every transition.
CREATE TABLE deadletters.actions (
    id          bigserial   PRIMARY KEY,
    message     bigint      NOT NULL REFERENCES deadletters.messages (id) ON DELETE CASCADE,
    action      text        NOT NULL,
    actor       text        NOT NULL,
    reason      text        NOT NULL DEFAULT '',
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX actions_message ON deadletters.actions (message, id);

-- +goose Down
DROP SCHEMA IF EXISTS deadletters CASCADE;
