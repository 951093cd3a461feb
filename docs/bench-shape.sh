#!/usr/bin/env bash
# The shape of one normal order (docs/benchmarks.md): PostgreSQL
# transactions and statements, and Kafka messages, per order, from a short
# run of normal orders only on a fresh database and namespace.
#
#   deploy/local/deps start          (PostgreSQL with pg_stat_statements preloaded)
#   docs/bench-shape.sh OUT_DIR [RATE] [DURATION]        e.g. docs/bench-shape.sh /tmp/shape 50 30s
#
# Results: OUT_DIR/shape.txt (the figures), OUT_DIR/statements.txt (the
# statements by calls), OUT_DIR/metrics.txt (the server's /metrics at the end).
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:?usage: docs/bench-shape.sh OUT_DIR [RATE] [DURATION]}
rate=${2:-50}
duration=${3:-30s}
mkdir -p "$out"

PG=(-h 127.0.0.1 -p 5433 -U postgres)
ADDR=:18080
db=orderflow_shape
export ORDERFLOW_DEV=true
go build -o bin/orderflow ./cmd/orderflow

dropdb "${PG[@]}" --if-exists "$db"
createdb "${PG[@]}" "$db"
ns=shape$(date +%s)
export ORDERFLOW_POSTGRES_URL="postgres://postgres@127.0.0.1:5433/$db?sslmode=disable" ORDERFLOW_NAMESPACE=$ns
bin/orderflow migrate >/dev/null 2>&1
psql -q "${PG[@]}" -d "$db" -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' >/dev/null
bin/orderflow all --http-addr $ADDR >"$out/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 60); do curl -sf "localhost$ADDR/readyz" >/dev/null && break; sleep 1; done

# Counted from here: the bench's set-up (products, customers) is a few
# hundred commands, small against the orders but not nothing; it is
# subtracted below by counting only after a first idle pause.
stats() {
	psql -At "${PG[@]}" -d "$db" -c "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()),
		(SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())),
		(SELECT count(DISTINCT stream_id) FROM ordering.events)"
}
metric() { curl -s "localhost$ADDR/metrics" | awk -v m="$1" '$1 ~ "^"m {s += $2} END {printf "%d", s}'; }
kafka_messages() {
	echo $(($(metric 'orderflow_relay_events_published_total') + $(metric 'orderflow_message_age_seconds_count\\{handler="(inventory|payments)\\.commands"')))
}

bin/orderflow bench --url "http://localhost$ADDR/graphql" --rate 1 --duration 2s --mix normal=100 \
	--customers 50 --idempotency-sample 0 >/dev/null 2>&1 || true
sleep 3
read -r tx0 st0 orders0 < <(stats | tr '|' ' ')
kafka0=$(kafka_messages)
psql -q "${PG[@]}" -d "$db" -c 'SELECT pg_stat_statements_reset()' >/dev/null
bin/orderflow bench --url "http://localhost$ADDR/graphql" --rate "$rate" --duration "$duration" --mix normal=100 \
	--idempotency-sample 0 --out "$out/shape.json" >"$out/bench.txt" 2>&1 || true
sleep 3
read -r tx1 _ orders1 < <(stats | tr '|' ' ')
kafka1=$(kafka_messages)
st1=$(psql -At "${PG[@]}" -d "$db" -c "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())")
curl -s "localhost$ADDR/metrics" >"$out/metrics.txt"
psql "${PG[@]}" -d "$db" -c "SELECT calls, round(calls::numeric / $((orders1 - orders0)), 2) AS per_order, left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS statement
	FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY calls DESC LIMIT 40" >"$out/statements.txt"

orders=$((orders1 - orders0))
{
	echo "orders: $orders (rate $rate for $duration, normal orders only; the bench's own set-up excluded)"
	echo "PostgreSQL transactions per order: $(echo "scale=2; ($tx1 - $tx0) / $orders" | bc)"
	echo "PostgreSQL statements per order: $(echo "scale=2; ($st1) / $orders" | bc) (pg_stat_statements, every statement of every process incl. the bench's checks)"
	echo "Kafka messages per order: $(echo "scale=2; ($kafka1 - $kafka0) / $orders" | bc) (events relayed + commands consumed)"
} | tee "$out/shape.txt"
kill $server; wait $server || true
trap - EXIT
dropdb "${PG[@]}" "$db"
docs/drop-namespace.sh "$ns"
