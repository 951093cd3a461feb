#!/usr/bin/env bash
# CPU per finished order, per process, of one orderflow binary at one rate
# (docs/benchmarks.md, "2026-12-01"): a fresh database and namespace,
# `orderflow all` started, `orderflow bench` against it, and the CPU each
# process used in a window of the load. Unlike docs/bench-e2e.sh, the CPU
# of orderflow, the bench and the PostgreSQL backends serving this run's
# database is counted by process id, so other work on the machine (other
# databases, other orderflow processes) does not count; Kafka's and
# Elasticsearch's figures are the whole servers'. Also counts PostgreSQL
# transactions and statements per order (pg_stat_statements) and takes a
# 10 s CPU profile of orderflow.
#
#   docs/bench-cpu.sh OUT_DIR [BINARY] [RATE] [SECONDS]     e.g. docs/bench-cpu.sh /tmp/cpu bin/orderflow 100 30
#   A/B: docs/bench-cpu.sh /tmp/a /tmp/orderflow-before; docs/bench-cpu.sh /tmp/b bin/orderflow; ... (alternate, twice)
#
# Results: OUT_DIR/bench.txt (the bench's table), OUT_DIR/cpu (two samples
# of CPU jiffies and counters, SECONDS-10 apart from 8 s into the run),
# OUT_DIR/post (counters after the load), OUT_DIR/statements.txt,
# OUT_DIR/cpu.pprof, OUT_DIR/summary.txt, OUT_DIR/pgbench.txt
# (docs/pgbench.sh right after the load, PGBENCH_SECONDS each, 15 by
# default, 0 for none: the host's reference from the same minute; its
# tps close the summary).
set -uo pipefail
cd "$(dirname "$0")/.."

out=${1:?usage: docs/bench-cpu.sh OUT_DIR [BINARY] [RATE] [SECONDS]}
bin=${2:-bin/orderflow}
rate=${3:-100}
secs=${4:-30}
mkdir -p "$out"
PG=(-h 127.0.0.1 -p 5433 -U postgres)
ADDR=${ADDR:-:18612}
db=orderflow_bench_cpu
export ORDERFLOW_DEV=true
dropdb "${PG[@]}" --if-exists $db
createdb "${PG[@]}" $db
ns=cpu$(date +%s)
export ORDERFLOW_POSTGRES_URL="postgres://postgres@127.0.0.1:5433/$db?sslmode=disable" ORDERFLOW_NAMESPACE=$ns ORDERFLOW_HTTP_ADDR=$ADDR
"$bin" migrate >/dev/null 2>&1
psql -q "${PG[@]}" -d $db -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' >/dev/null
"$bin" all --http-addr $ADDR >"$out/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 60); do curl -sf "localhost$ADDR/readyz" >/dev/null && break; sleep 1; done

jiffies() { local t=0; for p in "$@"; do [[ -r /proc/$p/stat ]] && t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo $t; }
jiffies_of() { jiffies $(pgrep "$@" || true); }
backends() { psql -At "${PG[@]}" -d postgres -c "SELECT pid FROM pg_stat_activity WHERE datname = '$db'"; }
q() { psql -At "${PG[@]}" -d $db -c "$1"; }
counters() {
	echo "xact=$(q "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")" \
		"orders=$(q "SELECT count(DISTINCT stream_id) FROM ordering.events")" \
		"calls=$(q "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat%' AND query NOT LIKE '%count(DISTINCT stream_id)%'")"
}
sample() {
	echo "orderflow=$(jiffies $server) bench=$(jiffies $bench) postgres=$(jiffies $(backends))" \
		"pgserver=$(jiffies_of -u postgres) kafka=$(jiffies_of -f kafka.Kafka) elasticsearch=$(jiffies_of -u orderflow-es java)" \
		"idle=$(awk '/^cpu /{print $5}' /proc/stat) steal=$(awk '/^cpu /{print $9}' /proc/stat) $(counters)"
}
# shellcheck disable=SC2086
"$bin" bench --url "http://localhost$ADDR/graphql" --rate "$rate" --duration "${secs}s" --e2e subscription \
	--out "$out/bench.json" ${BENCH_FLAGS:-} >"$out/bench.log" 2>&1 &
bench=$!
(sleep 12; curl -s "localhost$ADDR/debug/pprof/profile?seconds=10" -o "$out/cpu.pprof") &
(sleep 8; q 'SELECT pg_stat_statements_reset()' >/dev/null; sample >"$out/cpu"; sleep $((secs - 10)); sample >>"$out/cpu") &
sampler=$!
wait $bench
grep -vE '^(load|settle|check|setup) ' "$out/bench.log" >"$out/bench.txt"
wait $sampler
sleep 2
counters >"$out/post"
psql "${PG[@]}" -d $db -c "SELECT calls, round(total_exec_time::numeric, 0) AS ms, left(regexp_replace(query, '\s+', ' ', 'g'), 120) AS statement
	FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY calls DESC LIMIT 45" >"$out/statements.txt"
kill $server
wait $server
trap - EXIT
dropdb "${PG[@]}" $db
docs/drop-namespace.sh "$ns" # its indexes and topics: left behind they skew later runs
((${PGBENCH_SECONDS:-15} > 0)) && docs/pgbench.sh "${PGBENCH_SECONDS:-15}" >"$out/pgbench.txt" 2>&1

python3 - "$out" "$secs" <<'PY' | tee "$out/summary.txt"
import re, sys
out, secs = sys.argv[1], int(sys.argv[2])
parse = lambda line: {k: int(v) for k, v in re.findall(r'(\w+)=(\d+)', line)}
a, b = [parse(l) for l in open(out + '/cpu').read().splitlines()]
post = parse(open(out + '/post').read())
window, orders = secs - 10, b['orders'] - a['orders']
print(f"window {window} s: {orders} orders placed ({orders / window:.1f}/s)")
for k in ['orderflow', 'bench', 'postgres', 'kafka', 'elasticsearch', 'idle', 'steal']:
    d = b[k] - a[k]
    print(f"{k:14} {d / 100 / window:5.2f} cores  {d * 10 / orders:6.2f} ms/order")
mine = sum(b[k] - a[k] for k in ['orderflow', 'bench', 'postgres', 'kafka', 'elasticsearch'])
print(f"{'all five':14} {mine / 100 / window:5.2f} cores  {mine * 10 / orders:6.2f} ms/order")
if 'pgserver' in a:
    d = b['pgserver'] - a['pgserver']
    print(f"(postgres, every process of the server, WAL writer included: {d / 100 / window:.2f} cores, {d * 10 / orders:.2f} ms/order)")
n = post['orders'] - a['orders']
print(f"from the reset to the end ({n} orders): {(post['xact'] - a['xact']) / n:.2f} transactions (xact_commit) and "
      f"{post['calls'] / n:.2f} statements (pg_stat_statements) per order")
try:
    tps = re.findall(r'tps = ([\d.]+)', open(out + '/pgbench.txt').read())
    print("pgbench one-row insert right after (8 / 1 clients): " + " / ".join(f"{float(t):,.0f}" for t in tps) + " tps")
except OSError:
    pass
PY
