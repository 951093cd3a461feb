#!/usr/bin/env bash
# The floor run of issue 12 against `make run` (docs/benchmarks.md): with
# `make run` serving :8080 in another shell, run `orderflow bench` at RATE
# for SECONDS and sample the CPU jiffies of every process (orderflow all,
# the bench, all of PostgreSQL, Kafka, Elasticsearch) and of the host 8 s
# into the load and 2 s before its end.
#
#   docs/bench-floor.sh OUT_DIR [RATE] [SECONDS]        e.g. docs/bench-floor.sh /tmp/floor 167 60
#
# Results: OUT_DIR/bench.txt (the bench's table), OUT_DIR/result.json
# (bench --out), OUT_DIR/cpu-samples.txt (the two samples; jiffies are
# 10 ms; CPU per order = difference * 10 ms / (final rate * seconds apart)),
# OUT_DIR/hops.txt (docs/hops.sql over the run's orders: which hop of the
# way to CONFIRMED the time went to), OUT_DIR/pgbench.txt (docs/pgbench.sh
# right after the load, PGBENCH_SECONDS each, 15 by default, 0 for none:
# the host's reference from the same minute).
set -u
cd "$(dirname "$0")/.."
out=${1:?usage: docs/bench-floor.sh OUT_DIR [RATE] [SECONDS]}
rate=${2:-167}
dur=${3:-60}
mkdir -p "$out"
export ORDERFLOW_DEV=true # make run's built-in JWT secret signs the bench's tokens
j() { local t=0; for p in "$@"; do [[ -r /proc/$p/stat ]] && t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo $t; }
snap() {
	echo "t=$(date +%s.%N) orderflow=$(j $(pgrep -f 'bin/orderflow all')) bench=$(j $(pgrep -f 'orderflow bench'))" \
		"postgres=$(j $(pgrep -u postgres)) kafka=$(j $(pgrep -f kafka.Kafka)) elasticsearch=$(j $(pgrep -u orderflow-es java))" \
		"idle=$(awk '/^cpu /{print $5}' /proc/stat) total=$(awk '/^cpu /{s=0; for(i=2;i<=NF;i++) s+=$i; print s}' /proc/stat)"
}
since=$(date -u +%FT%T.%NZ)
bin/orderflow bench --rate "$rate" --duration "${dur}s" --out "$out/result.json" >"$out/bench.txt" 2>&1 &
bench=$!
sleep 8
snap >"$out/cpu-samples.txt"
sleep $((dur - 10))
snap >>"$out/cpu-samples.txt"
wait $bench
psql -h 127.0.0.1 -p 5433 -U postgres -d orderflow -v since="$since" -f docs/hops.sql >"$out/hops.txt" 2>&1
((${PGBENCH_SECONDS:-15} > 0)) && docs/pgbench.sh "${PGBENCH_SECONDS:-15}" >"$out/pgbench.txt" 2>&1
tail -40 "$out/bench.txt"
cat "$out/cpu-samples.txt" "$out/hops.txt"
[[ -f $out/pgbench.txt ]] && cat "$out/pgbench.txt"
true
