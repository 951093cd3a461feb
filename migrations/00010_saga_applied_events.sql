-- +goose Up
-- The events a saga applied are recorded in its own row (applied, with
-- applied_at: when, for the order's timeline) instead of one
-- sagas.processed_events row each: the saga writes its row in every
-- transaction anyway, so recording an event costs no insert into a table
-- and index of its own (five per normal order). The rows recorded so far
-- are copied; sagas.processed_events is no longer written (the retention
-- job empties it) and can be dropped once no older orderflow runs.
ALTER TABLE sagas.order_sagas
    ADD COLUMN applied    uuid[]        NOT NULL DEFAULT '{}',
    ADD COLUMN applied_at timestamptz[] NOT NULL DEFAULT '{}';

UPDATE sagas.order_sagas s
SET applied = p.ids, applied_at = p.ats
FROM (SELECT order_id, array_agg(event_id ORDER BY processed_at, event_id) AS ids,
             array_agg(processed_at ORDER BY processed_at, event_id) AS ats
      FROM sagas.processed_events GROUP BY order_id) p
WHERE p.order_id = s.order_id;

-- +goose Down
INSERT INTO sagas.processed_events (event_id, order_id, processed_at)
SELECT u.event_id, s.order_id, u.at
FROM sagas.order_sagas s, unnest(s.applied, s.applied_at) AS u(event_id, at)
ON CONFLICT (event_id) DO NOTHING;
ALTER TABLE sagas.order_sagas DROP COLUMN applied, DROP COLUMN applied_at;
