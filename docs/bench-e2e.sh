#!/usr/bin/env bash
# The end-to-end series of docs/benchmarks.md, in one run on one machine:
# a pgbench one-row-insert reference, then for each rate a fresh database
# and namespace, `orderflow all` started, `orderflow bench` against it, the
# CPU seconds each server used during the load, and the host's steal time.
#
#   deploy/local/deps start
#   docs/bench-e2e.sh OUT_DIR [DURATION] RATE...        e.g. docs/bench-e2e.sh /tmp/e2e 60s 30 45 60
#
# Extra flags for the bench go in BENCH_FLAGS, e.g. BENCH_FLAGS="--settle-timeout 10m".
# Results: OUT_DIR/<rate>.json (bench --out), OUT_DIR/<rate>.txt (the
# table), OUT_DIR/<rate>.cpu, OUT_DIR/pgbench.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:?usage: docs/bench-e2e.sh OUT_DIR [DURATION] RATE...}
shift
duration=60s
if [[ ${1:-} =~ ^[0-9]+[sm]$ ]]; then duration=$1; shift; fi
seconds=${duration%[sm]}
[[ $duration == *m ]] && seconds=$((seconds * 60))
(($# > 0)) || { echo "no rates given" >&2; exit 2; }
mkdir -p "$out"

PG=(-h 127.0.0.1 -p 5433 -U postgres)
ADDR=:18080
# development mode, as `make run`: the server and the bench share the
# built-in JWT secret
export ORDERFLOW_DEV=true
go build -o bin/orderflow ./cmd/orderflow

# jiffies used by the processes matching a pattern, and the host's steal
cpu_of() { local t=0; for p in $(pgrep "$@" || true); do [[ -r /proc/$p/stat ]] && t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo $t; }
sample() {
	echo "postgres=$(cpu_of -u postgres postgres) kafka=$(cpu_of -f kafka.Kafka) elasticsearch=$(cpu_of -u orderflow-es java)" \
		"orderflow=$(cpu_of -f 'orderflow all') bench=$(cpu_of -f 'orderflow bench')" \
		"steal=$(awk '/^cpu /{print $9}' /proc/stat) idle=$(awk '/^cpu /{print $5}' /proc/stat) load=$(cut -d' ' -f1 /proc/loadavg)"
}

docs/pgbench.sh 30 | tee "$out/pgbench.txt"

for rate in "$@"; do
	name="r$rate-$(date +%s)"
	db="orderflow_bench_$rate"
	echo "== $rate orders/s for $duration (database $db, namespace $name)"
	dropdb "${PG[@]}" --if-exists "$db"
	createdb "${PG[@]}" "$db"
	export ORDERFLOW_POSTGRES_URL="postgres://postgres@127.0.0.1:5433/$db?sslmode=disable" ORDERFLOW_NAMESPACE=$name
	bin/orderflow migrate >/dev/null 2>&1
	bin/orderflow all --http-addr $ADDR >"$out/$rate.server.log" 2>&1 &
	server=$!
	for _ in $(seq 60); do curl -sf "localhost$ADDR/readyz" >/dev/null && break; sleep 1; done
	# CPU from a few seconds in (after the set-up) to the end of the load
	(sleep 5; sample >"$out/$rate.cpu"; sleep $((seconds - 3)); sample >>"$out/$rate.cpu") &
	sampler=$!
	# shellcheck disable=SC2086
	bin/orderflow bench --url "http://localhost$ADDR/graphql" --rate "$rate" --duration "$duration" \
		--e2e subscription --label "rate $rate, $(nproc) cores, all on one machine" --out "$out/$rate.json" ${BENCH_FLAGS:-} \
		2>&1 | grep -vE '^(load|settle|check|setup) ' >"$out/$rate.txt" || true
	wait $sampler || true
	kill $server; wait $server || true
	unset ORDERFLOW_POSTGRES_URL ORDERFLOW_NAMESPACE
	dropdb "${PG[@]}" "$db"
	docs/drop-namespace.sh "$name"
	cat "$out/$rate.txt"
	echo "cpu jiffies (start, end): $(tr '\n' '|' <"$out/$rate.cpu")"
done
