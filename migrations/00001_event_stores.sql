-- +goose Up
CREATE SCHEMA IF NOT EXISTS ordering;

-- The event store of the ordering context, and its outbox: the relay publishes
-- rows in (transaction_id, position) order once no older transaction can
-- still commit (see command/outbox).
CREATE TABLE ordering.events (
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
CREATE INDEX events_relay_order ON ordering.events (transaction_id, position);

-- Messages already handled, written in the same transaction as the events
-- they caused: a redelivered command finds its row and changes nothing. A
-- command refused by the domain records its error code and message, so a
-- caller waiting for the outcome learns why.
CREATE TABLE ordering.inbox (
    handler       text        NOT NULL,
    message_id    text        NOT NULL,
    stream_id     text        NOT NULL,
    error_code    text,
    error_message text,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (handler, message_id)
);

-- Where each relay stopped: the last published (transaction_id, position).
CREATE TABLE ordering.relay_checkpoints (
    relay          text        PRIMARY KEY,
    transaction_id xid8        NOT NULL,
    position       bigint      NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE SCHEMA IF NOT EXISTS inventory;

-- The event store of the inventory context, and its outbox: the relay publishes
-- rows in (transaction_id, position) order once no older transaction can
-- still commit (see command/outbox).
CREATE TABLE inventory.events (
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
CREATE INDEX events_relay_order ON inventory.events (transaction_id, position);

-- Messages already handled, written in the same transaction as the events
-- they caused: a redelivered command finds its row and changes nothing. A
-- command refused by the domain records its error code and message, so a
-- caller waiting for the outcome learns why.
CREATE TABLE inventory.inbox (
    handler       text        NOT NULL,
    message_id    text        NOT NULL,
    stream_id     text        NOT NULL,
    error_code    text,
    error_message text,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (handler, message_id)
);

-- Where each relay stopped: the last published (transaction_id, position).
CREATE TABLE inventory.relay_checkpoints (
    relay          text        PRIMARY KEY,
    transaction_id xid8        NOT NULL,
    position       bigint      NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE SCHEMA IF NOT EXISTS payments;

-- The event store of the payments context, and its outbox: the relay publishes
-- rows in (transaction_id, position) order once no older transaction can
-- still commit (see command/outbox).
CREATE TABLE payments.events (
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
CREATE INDEX events_relay_order ON payments.events (transaction_id, position);

-- Messages already handled, written in the same transaction as the events
-- they caused: a redelivered command finds its row and changes nothing. A
-- command refused by the domain records its error code and message, so a
-- caller waiting for the outcome learns why.
CREATE TABLE payments.inbox (
    handler       text        NOT NULL,
    message_id    text        NOT NULL,
    stream_id     text        NOT NULL,
    error_code    text,
    error_message text,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (handler, message_id)
);

-- Where each relay stopped: the last published (transaction_id, position).
CREATE TABLE payments.relay_checkpoints (
    relay          text        PRIMARY KEY,
    transaction_id xid8        NOT NULL,
    position       bigint      NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP SCHEMA IF EXISTS ordering CASCADE;
DROP SCHEMA IF EXISTS inventory CASCADE;
DROP SCHEMA IF EXISTS payments CASCADE;
