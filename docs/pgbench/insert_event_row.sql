-- pgbench script: one event-store-shaped row per transaction (unique event
-- id and (stream_id, version), relay index, notify trigger), as Append
-- writes it, without the Go client in between.
INSERT INTO scratch_events (event_id, stream_id, stream_type, version, event_type, data, correlation_id, causation_id)
VALUES (gen_random_uuid(), 'product-' || gen_random_uuid(), 'Product', 1, 'inventory.ProductRestocked',
        '{"productId":"product-1","quantity":1}', 'order-1', 'cmd-1');
