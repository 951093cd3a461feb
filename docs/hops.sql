-- Where an order's time to CONFIRMED went, hop by hop, from the event
-- store alone: every event's created_at is its transaction's start, so
-- each hop below is the time from one step's transaction to the next
-- one's (relay, Kafka, the consumer's wait and batch, the handler).
--
--   reserve    OrderPlaced (the placement)      -> StockReserved (inventory)
--   authorize  StockReserved                    -> PaymentAuthorized (payments; the saga's transaction and its command between)
--   confirm    PaymentAuthorized                -> OrderConfirmed (the saga)
--   total      OrderPlaced                      -> OrderConfirmed
--
-- Orders placed since :'since' that were confirmed; docs/bench-floor.sh
-- runs it after the load. By hand:
--   psql -h 127.0.0.1 -p 5433 -U postgres -d orderflow -v since="$(date -u -d '-2 min' +%FT%TZ)" -f docs/hops.sql
WITH placed AS (
  SELECT stream_id AS id, created_at AS placed FROM ordering.events
  WHERE event_type = 'ordering.OrderPlaced' AND created_at >= :'since'::timestamptz
),
reserved AS (
  SELECT correlation_id AS id, min(created_at) AS reserved FROM inventory.events
  WHERE event_type = 'inventory.StockReserved' AND created_at >= :'since'::timestamptz GROUP BY 1
),
authorized AS (
  SELECT correlation_id AS id, min(created_at) AS authorized FROM payments.events
  WHERE event_type = 'payments.PaymentAuthorized' AND created_at >= :'since'::timestamptz GROUP BY 1
),
confirmed AS (
  SELECT stream_id AS id, min(created_at) AS confirmed FROM ordering.events
  WHERE event_type = 'ordering.OrderConfirmed' AND created_at >= :'since'::timestamptz GROUP BY 1
),
hops AS (
  SELECT unnest(ARRAY['reserve', 'authorize', 'confirm', 'total']) AS hop,
         unnest(ARRAY[reserved - placed, authorized - reserved, confirmed - authorized, confirmed - placed]) AS took
  FROM placed JOIN reserved USING (id) JOIN authorized USING (id) JOIN confirmed USING (id)
)
SELECT hop, count(*) AS orders,
       round(1000 * extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY took))::numeric, 1) AS p50_ms,
       round(1000 * extract(epoch FROM percentile_cont(0.9) WITHIN GROUP (ORDER BY took))::numeric, 1) AS p90_ms,
       round(1000 * extract(epoch FROM percentile_cont(0.99) WITHIN GROUP (ORDER BY took))::numeric, 1) AS p99_ms,
       round(1000 * extract(epoch FROM max(took))::numeric, 1) AS max_ms
FROM hops GROUP BY hop
ORDER BY array_position(ARRAY['reserve', 'authorize', 'confirm', 'total'], hop);
