#!/usr/bin/env bash
cd /work/main
bin=/tmp/of-final
PG=(-h 127.0.0.1 -p 5433 -U postgres)
ADDR=:18616; db=orderflow_gaps
export ORDERFLOW_DEV=true
dropdb "${PG[@]}" --if-exists $db 2>/dev/null; createdb "${PG[@]}" $db
export ORDERFLOW_POSTGRES_URL="postgres://postgres@127.0.0.1:5433/$db?sslmode=disable" ORDERFLOW_NAMESPACE=gp$(date +%s) ORDERFLOW_HTTP_ADDR=$ADDR
"$bin" migrate >/dev/null 2>&1
"$bin" all --http-addr $ADDR >/tmp/exp/gaps-server.log 2>&1 &
server=$!
for _ in $(seq 60); do curl -sf "localhost$ADDR/readyz" >/dev/null && break; sleep 1; done
python3 /tmp/exp/psample.py 8 > /tmp/exp/psample.txt &
(sleep 0.8; for i in 1 2 3 4 5 6; do jstack 3243 > /tmp/exp/jstack-$i.txt 2>&1; sleep 0.25; done) &
sleep 0.3
"$bin" bench --url "http://localhost$ADDR/graphql" --rate 167 --duration 10s >/tmp/exp/gaps-bench.log 2>&1
kill $server; wait $server
psql -q "${PG[@]}" -d $db <<'SQL'
WITH o AS (
  SELECT stream_id AS id, min(created_at) FILTER (WHERE event_type='ordering.OrderPlaced') placed,
         min(created_at) FILTER (WHERE event_type='ordering.OrderConfirmed') confirmed
  FROM ordering.events GROUP BY stream_id),
inv AS (SELECT data->>'orderId' id, min(created_at) reserved FROM inventory.events WHERE event_type='inventory.StockReserved' GROUP BY 1),
pay AS (SELECT data->>'orderId' id, min(created_at) authorized FROM payments.events WHERE event_type='payments.PaymentAuthorized' GROUP BY 1),
j AS (SELECT o.id, o.placed, extract(epoch from inv.reserved-o.placed)*1000 AS to_reserved,
        extract(epoch from pay.authorized-inv.reserved)*1000 AS to_authorized,
        extract(epoch from o.confirmed-pay.authorized)*1000 AS to_confirmed
      FROM o JOIN inv USING (id) JOIN pay USING (id) WHERE o.confirmed IS NOT NULL)
SELECT date_trunc('second', placed) - (SELECT date_trunc('second', min(placed)) FROM j) AS sec, count(*),
  round(avg(to_reserved)) avg_res, round(max(to_reserved)) max_res,
  round(avg(to_authorized)) avg_auth, round(max(to_authorized)) max_auth,
  round(avg(to_confirmed)) avg_conf, round(max(to_confirmed)) max_conf
FROM j GROUP BY 1 ORDER BY 1;
SQL
dropdb "${PG[@]}" $db
grep "^load" /tmp/exp/gaps-bench.log | head -10 | awk '{printf "%d ", $4-$10}'; echo
