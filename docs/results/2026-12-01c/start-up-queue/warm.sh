#!/usr/bin/env bash
cd /work/main
bin=/tmp/of-final; out=/tmp/exp/warm; mkdir -p $out
PG=(-h 127.0.0.1 -p 5433 -U postgres)
ADDR=:18615; db=orderflow_warm
export ORDERFLOW_DEV=true
dropdb "${PG[@]}" --if-exists $db 2>/dev/null; createdb "${PG[@]}" $db
export ORDERFLOW_POSTGRES_URL="postgres://postgres@127.0.0.1:5433/$db?sslmode=disable" ORDERFLOW_NAMESPACE=wm$(date +%s) ORDERFLOW_HTTP_ADDR=$ADDR
"$bin" migrate >/dev/null 2>&1
"$bin" all --http-addr $ADDR >"$out/server.log" 2>&1 &
server=$!
for _ in $(seq 60); do curl -sf "localhost$ADDR/readyz" >/dev/null && break; sleep 1; done
"$bin" bench --url "http://localhost$ADDR/graphql" --rate ${WARMRATE:-20} --duration ${WARMDUR:-3s} --products 5 --customers 20 >"$out/warm.log" 2>&1
sleep 10
"$bin" bench --url "http://localhost$ADDR/graphql" --rate 167 --duration 20s >"$out/main.log" 2>&1
kill $server; wait $server; dropdb "${PG[@]}" $db
echo "$(grep "^load" $out/main.log | head -10 | awk '{printf "%d ", $4-$10}') | $(grep -E "^e2e seen \(all" $out/main.log)"
