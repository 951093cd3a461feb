-- +goose Up
-- An event's created_at is when it was inserted, not when its transaction
-- began (now()). A transaction that began before another but waited (for
-- the saga's lock, say) and appended the next version stamped that later
-- version with an earlier time than the one before it, and an order's
-- events read in time order (orderEvents, the order's timeline) came out
-- of version order. An append can only follow the commit of the version
-- before it, so insert times rise with the version within every stream.
ALTER TABLE ordering.events  ALTER COLUMN created_at SET DEFAULT clock_timestamp();
ALTER TABLE inventory.events ALTER COLUMN created_at SET DEFAULT clock_timestamp();
ALTER TABLE payments.events  ALTER COLUMN created_at SET DEFAULT clock_timestamp();

-- +goose Down
ALTER TABLE ordering.events  ALTER COLUMN created_at SET DEFAULT now();
ALTER TABLE inventory.events ALTER COLUMN created_at SET DEFAULT now();
ALTER TABLE payments.events  ALTER COLUMN created_at SET DEFAULT now();
