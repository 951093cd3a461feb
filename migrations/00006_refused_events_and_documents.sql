-- +goose Up
-- Isolation of what a server refuses for good (issue 11), until dead
-- letters take over (issue 13).
--
-- <schema>.relay_blocked_streams: a stream whose next event the broker will
-- never accept (too large, invalid record). The relay publishes nothing more
-- of that stream, in order, while every other stream flows; the row names
-- the refused event (the stream's first unpublished one). An operator who
-- removed the cause sets retry_requested_at = now(): the relay then
-- publishes the stream's waiting events in order and deletes the row, or
-- records the refusal again. Never delete a row by hand: the events the
-- relay held back behind it would never be published.
CREATE TABLE ordering.relay_blocked_streams (
    relay              text        NOT NULL,
    stream_id          text        NOT NULL,
    event_id           uuid        NOT NULL,
    event_type         text        NOT NULL,
    version            integer     NOT NULL,
    transaction_id     xid8        NOT NULL,
    position           bigint      NOT NULL,
    size_bytes         integer     NOT NULL,
    error              text        NOT NULL,
    refusals           integer     NOT NULL DEFAULT 1,
    blocked_at         timestamptz NOT NULL DEFAULT now(),
    refused_at         timestamptz NOT NULL DEFAULT now(),
    retry_requested_at timestamptz,
    PRIMARY KEY (relay, stream_id)
);

CREATE TABLE inventory.relay_blocked_streams (LIKE ordering.relay_blocked_streams INCLUDING ALL);
CREATE TABLE payments.relay_blocked_streams (LIKE ordering.relay_blocked_streams INCLUDING ALL);

-- projections.held_documents: an aggregate whose document Elasticsearch
-- refused for good (a mapping or parse error). The live projector applies
-- none of its later events while the row exists (the partition moves on);
-- re-projecting the stream from the event store (`orderflow rebuild
-- --order <id> <projection>`) once the cause is removed writes the whole
-- document and deletes the row.
CREATE TABLE projections.held_documents (
    -- The namespaced alias readers use (as in projections.rebuilds).
    alias      text        NOT NULL,
    stream_id  text        NOT NULL,
    projection text        NOT NULL,
    -- Where the refused write went, the document version it carried and
    -- the newest event folded into it.
    index_name text        NOT NULL,
    version    integer     NOT NULL,
    event_type text        NOT NULL,
    reason     text        NOT NULL,
    held_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (alias, stream_id)
);

-- +goose Down
DROP TABLE IF EXISTS projections.held_documents;
DROP TABLE IF EXISTS payments.relay_blocked_streams;
DROP TABLE IF EXISTS inventory.relay_blocked_streams;
DROP TABLE IF EXISTS ordering.relay_blocked_streams;
