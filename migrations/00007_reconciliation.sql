-- +goose Up
-- Reconciliation (orderflow reconcile, package reconcile).
--
-- reconcile.reports: the last report of each deployment, so every API
-- process serves it (the reconciliation admin query) whichever process ran
-- it. It lives in the ordering database, beside the sagas it checks.
CREATE SCHEMA IF NOT EXISTS reconcile;

CREATE TABLE reconcile.reports (
    -- The deployment's namespace (empty in production), so deployments
    -- sharing a database never see each other's reports.
    namespace   text        PRIMARY KEY,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    report      jsonb       NOT NULL
);

-- The events of the inventory and payments contexts that concern an order
-- (reservations and holds, their releases, commits, voids and captures)
-- name it in data->>'orderId'. The reconciler checks a page of finished
-- orders against them in one look-up per context instead of folding every
-- product and account those orders touched.
CREATE INDEX events_order_id ON inventory.events ((data->>'orderId'));
CREATE INDEX events_order_id ON payments.events ((data->>'orderId'));

-- +goose Down
DROP INDEX IF EXISTS payments.events_order_id;
DROP INDEX IF EXISTS inventory.events_order_id;
DROP SCHEMA IF EXISTS reconcile CASCADE;
