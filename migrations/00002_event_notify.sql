-- +goose Up
-- Wake the outbox relay of a context as soon as events of that context
-- commit: one notification per inserting statement, delivered at commit
-- (never for a transaction that rolls back), and identical notifications of
-- one transaction are folded into one. The relay LISTENs on
-- orderflow_events_<schema> and still polls on a fallback interval, so a
-- lost notification only costs latency.

-- +goose StatementBegin
CREATE FUNCTION ordering.notify_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('orderflow_events_ordering', '');
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER events_notify AFTER INSERT ON ordering.events
    FOR EACH STATEMENT EXECUTE FUNCTION ordering.notify_events();

-- +goose StatementBegin
CREATE FUNCTION inventory.notify_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('orderflow_events_inventory', '');
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER events_notify AFTER INSERT ON inventory.events
    FOR EACH STATEMENT EXECUTE FUNCTION inventory.notify_events();

-- +goose StatementBegin
CREATE FUNCTION payments.notify_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('orderflow_events_payments', '');
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER events_notify AFTER INSERT ON payments.events
    FOR EACH STATEMENT EXECUTE FUNCTION payments.notify_events();

-- +goose Down
DROP TRIGGER IF EXISTS events_notify ON payments.events;
DROP FUNCTION IF EXISTS payments.notify_events();
DROP TRIGGER IF EXISTS events_notify ON inventory.events;
DROP FUNCTION IF EXISTS inventory.notify_events();
DROP TRIGGER IF EXISTS events_notify ON ordering.events;
DROP FUNCTION IF EXISTS ordering.notify_events();
